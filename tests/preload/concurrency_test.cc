// The preload library's concurrent core under ThreadSanitizer (built by
// CMake with -fsanitize=thread): application threads intern stacks and record
// allocations and cross-thread frees into their own shards while a dumper
// thread writes snapshots, then the last snapshot must hold the exact totals.
// Also run in the plain build, where it checks the same totals.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "format/dump_reader.h"
#include "preload/snapshot/process_info.h"
#include "preload/record/shard_registry.h"
#include "preload/snapshot/snapshot.h"
#include "preload/record/stack_table.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"
#include "preload/record/tracker.h"

namespace leaktrace::preload {
namespace {

constexpr int kThreads = 4;
constexpr int kStacksPerThread = 64;
constexpr int kEventsPerThread = 20000;

TEST(PreloadConcurrency, ShardsStackTableAndSnapshotsTogether) {
  const std::string dir = std::filesystem::temp_directory_path() / ("leaktrace-tsan-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  setenv("LEAKTRACE_SAMPLE", "1", 1);
  setenv("LEAKTRACE_DIR", dir.c_str(), 1);
  NoteConstructorReached();  // as the library's constructor would: libtsan is ready
  EnsureInitialized();
  ASSERT_EQ(g_mode, Mode::kExact);
  GatherProcessFacts(0, nullptr);

  // Stack ids every thread agrees on: thread t's k-th stack is (t, k).
  std::vector<std::vector<uint32_t>> ids(kThreads, std::vector<uint32_t>(kStacksPerThread));
  std::atomic<int> interned{0};
  std::atomic<bool> stop_dumping{false};

  std::thread dumper([&] {
    ++t_state.busy;
    while (!stop_dumping.load()) WriteSnapshot(format::Trigger::kSignal);
  });

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Arena arena;
      for (int k = 0; k < kStacksPerThread; ++k) {
        // Half the stacks are shared by all threads (same pcs, racing inserts).
        const uint64_t owner = k % 2 == 0 ? 99 : static_cast<uint64_t>(t);
        const uint64_t pcs[3] = {0x400000 + owner, 0x500000 + static_cast<uint64_t>(k), 0x600000};
        ids[t][k] = InternStack(owner * 1000 + k + 1, pcs, 3, 0, arena);
      }
      interned.fetch_add(1);
      while (interned.load() < kThreads) std::this_thread::yield();
      ThreadState& ts = t_state;
      for (int i = 0; i < kEventsPerThread; ++i) {
        const uint32_t mine = ids[t][i % kStacksPerThread];
        RecordAlloc(ts, mine, 10, 1.0);
        // Free something another thread allocated: counted in our shard.
        const uint32_t theirs = ids[(t + 1) % kThreads][i % kStacksPerThread];
        if (i % 2 == 0) RecordFree(ts, theirs, 10, 1.0);
      }
    });
  }
  for (auto& th : threads) th.join();
  stop_dumping = true;
  dumper.join();

  ++t_state.busy;
  const uint32_t last = WriteSnapshot(format::Trigger::kSignal);
  --t_state.busy;
  ASSERT_GT(last, 0u);
  const format::Dump dump = format::ReadDump(LastDumpPath());
  double live = 0, allocated = 0;
  for (const format::Site& s : dump.sites) {
    if (s.resource != format::Resource::kHeap) continue;
    live += s.live_count;
    allocated += s.alloc_count;
  }
  EXPECT_EQ(allocated, kThreads * kEventsPerThread);
  EXPECT_EQ(live, kThreads * kEventsPerThread / 2);
  // Taken with every writer stopped: a consistent cut, and the dump says so.
  bool said = false;
  for (const auto& [name, value] : dump.health)
    if (name == "events_during_read") {
      said = true;
      EXPECT_EQ(value, 0u);
    }
  EXPECT_TRUE(said) << "the dump states how far it may be off";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace leaktrace::preload
