// The preload library's insides, timed directly: linked against the static
// leaktrace_preload_core (no hooks here: this program's malloc is glibc's).
// The process runs in exact mode (LEAKTRACE_SAMPLE=1 is set before start-up).
//
//   BM_InternStackHit        InternStack of a stack already in the table
//   BM_InternStackMiss       InternStack of a new stack (insert; bounded run)
//   BM_CountersForHit        Shard::CountersFor, the direct-mapped cache hit
//   BM_CountersForSpread     Shard::CountersFor over 32k sites (cache misses,
//                            the flat_hash_map behind it)
//   BM_DrawSampleDistance    one exponential draw (once per sample)
//   BM_CaptureStack/<d>      unw_backtrace + own-frame stripping, d frames deep
//   BM_Snapshot/<live>/<stacks>
//                            WriteSnapshot(kSignal): `live` tracked live
//                            allocations spread over `stacks` distinct stacks,
//                            built, written, fsync'ed and renamed
//
// The snapshot family is cumulative (each run tops the tracker up to its
// figures, in order), so the other benchmarks' stacks must not be in the
// table: scripts/bench.sh runs `--benchmark_filter=BM_Snapshot` in its own
// process.
#include <benchmark/benchmark.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "format/dump_layout.h"
#include "preload/internal/arena.h"
#include "preload/snapshot/process_info.h"
#include "preload/heap/sampler.h"
#include "preload/record/shard.h"
#include "preload/record/shard_registry.h"
#include "preload/snapshot/snapshot.h"
#include "preload/record/stack_table.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"
#include "preload/record/tracker.h"
#include "preload/record/unwinder.h"

namespace lp = leaktrace::preload;

namespace {

constexpr uint32_t kDepth = 16;  // synthetic stack depth (a typical service stack)

struct SyntheticStack {
  uint64_t pcs[kDepth];
  uint64_t hash;
};

uint64_t g_rng = 0x2545F4914F6CDD1DULL;
uint64_t NextRandom() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}

// A plausible stack: return addresses inside a 16 MiB text segment, the
// outer frames shared (main, the event loop ...) like a real program's.
SyntheticStack MakeStack() {
  SyntheticStack s;
  for (uint32_t i = 0; i < kDepth; ++i) {
    s.pcs[i] = i >= kDepth - 4 ? 0x555555400000ULL + i * 64 : 0x555555400000ULL + NextRandom() % (16u << 20);
  }
  s.hash = XXH3_64bits(s.pcs, sizeof s.pcs);
  return s;
}

lp::Arena& BenchArena() {
  static lp::Arena* arena = new lp::Arena();
  return *arena;
}

uint32_t Intern(const SyntheticStack& s) { return lp::InternStack(s.hash, s.pcs, kDepth, 0, BenchArena()); }

void BM_InternStackHit(benchmark::State& state) {
  static std::vector<SyntheticStack>* stacks = [] {
    auto* v = new std::vector<SyntheticStack>();
    for (int i = 0; i < 10000; ++i) {
      v->push_back(MakeStack());
      Intern(v->back());
    }
    return v;
  }();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Intern((*stacks)[i]));
    if (++i == stacks->size()) i = 0;
  }
  state.counters["table_stacks"] = lp::MaxStackId();
}
BENCHMARK(BM_InternStackHit);

void BM_InternStackMiss(benchmark::State& state) {
  // Stacks are made untimed in batches; each iteration inserts a new one.
  constexpr size_t kBatch = 4096;
  std::vector<SyntheticStack> batch(kBatch);
  size_t i = kBatch;
  for (auto _ : state) {
    if (i == kBatch) {
      state.PauseTiming();
      for (auto& s : batch) s = MakeStack();
      i = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(Intern(batch[i++]));
  }
  state.counters["table_stacks"] = lp::MaxStackId();
}
// Bounded: every iteration adds a stack to the (insert-only) table.
BENCHMARK(BM_InternStackMiss)->Iterations(200000);

lp::Shard& BenchShard() {
  static lp::Shard* shard = new lp::Shard();
  return *shard;
}

void BM_CountersForHit(benchmark::State& state) {
  lp::Shard& shard = BenchShard();
  for (auto _ : state) benchmark::DoNotOptimize(shard.CountersFor(7));
}
BENCHMARK(BM_CountersForHit);

// 32k sites: 32 times the direct-mapped cache, so nearly every call goes to
// the flat_hash_map; and below 57,344 sites per shard (see bench/RESULTS.md).
constexpr uint32_t kSpreadSites = 1 << 15;

void BM_CountersForSpread(benchmark::State& state) {
  lp::Shard& shard = BenchShard();
  static std::vector<uint32_t>* ids = [&] {
    auto* v = new std::vector<uint32_t>(kSpreadSites);
    for (uint32_t& id : *v) {
      id = 1000 + static_cast<uint32_t>(NextRandom() % 10000000);
      shard.CountersFor(id);  // created once, untimed
    }
    return v;
  }();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(shard.CountersFor((*ids)[i]));
    i = (i + 1) & (kSpreadSites - 1);
  }
}
BENCHMARK(BM_CountersForSpread);

void BM_DrawSampleDistance(benchmark::State& state) {
  uint64_t rng = 12345;
  for (auto _ : state) benchmark::DoNotOptimize(lp::DrawSampleDistance(rng, 512 * 1024));
}
BENCHMARK(BM_DrawSampleDistance);

__attribute__((noinline)) void CaptureAtDepth(int depth, lp::CapturedStack& out) {
  if (depth <= 1) {
    lp::CaptureStack(out);
  } else {
    CaptureAtDepth(depth - 1, out);
  }
  benchmark::DoNotOptimize(out.depth);
}

void BM_CaptureStack(benchmark::State& state) {
  lp::BusyScope busy;
  lp::CapturedStack out;
  for (auto _ : state) CaptureAtDepth(static_cast<int>(state.range(0)), out);
}
BENCHMARK(BM_CaptureStack)->Arg(1)->Arg(8)->Arg(32)->Arg(64);

// ---- snapshots -------------------------------------------------------------

// The population lives in the shards of kWorkers long-lived threads (stack i
// belongs to worker i % kWorkers), as in a threaded service: the dump merges
// many shards, and no one shard grows past ~31k sites even at 1M stacks.
// (LEAKTRACE_BENCH_ONE_SHARD=1 puts everything in the main thread's shard
// instead: see bench/RESULTS.md for what happens past 57,344 sites.)
constexpr int kWorkers = 32;

struct Op {
  uint32_t id;
  int32_t delta;  // +1 RecordAlloc, -1 RecordFree
};

class Workers {
 public:
  Workers() {
    for (int w = 0; w < kWorkers; ++w) threads_.emplace_back([this, w] { Loop(w); });
  }
  // Runs every worker's ops on that worker and waits for all of them.
  void Run(std::vector<std::vector<Op>>& ops) {
    std::unique_lock<std::mutex> lock(mu_);
    ops_ = &ops;
    pending_ = kWorkers;
    ++generation_;
    cv_.notify_all();
    done_.wait(lock, [this] { return pending_ == 0; });
  }

 private:
  void Loop(int w) {
    uint64_t seen = 0;
    for (;;) {
      std::vector<Op>* mine;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        mine = &(*ops_)[w];
      }
      lp::ThreadState& t = lp::t_state;
      for (const Op& op : *mine) {
        if (op.delta > 0) lp::RecordAlloc(t, op.id, kBlockBytes, 1.0);
        else lp::RecordFree(t, op.id, kBlockBytes, 1.0);
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
  static constexpr uint64_t kBlockBytes = 96;  // every synthetic allocation's size
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_, done_;
  std::vector<std::vector<Op>>* ops_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
};

struct Population {
  std::vector<uint32_t> ids;
  std::vector<uint32_t> live;  // live allocations per stack, parallel to ids
  uint64_t total_live = 0;
  size_t cursor = 0;
};
Population g_population;

// Tops the tracker up to `live` live allocations over `stacks` distinct
// stacks, each stack holding at least one. Only grows the stack count.
void Populate(uint64_t live, uint64_t stacks) {
  static Workers* workers = getenv("LEAKTRACE_BENCH_ONE_SHARD") ? nullptr : new Workers();
  Population& p = g_population;
  std::vector<std::vector<Op>> ops(kWorkers);
  auto add = [&](size_t i, int32_t delta) {
    if (workers == nullptr) {
      if (delta > 0) lp::RecordAlloc(lp::t_state, p.ids[i], 96, 1.0);
      else lp::RecordFree(lp::t_state, p.ids[i], 96, 1.0);
    } else {
      ops[i % kWorkers].push_back({p.ids[i], delta});
    }
    p.live[i] += delta;
    p.total_live += delta;
  };
  while (p.ids.size() < stacks) {
    const uint32_t id = Intern(MakeStack());
    if (id == 0) break;
    p.ids.push_back(id);
    p.live.push_back(0);
    add(p.ids.size() - 1, +1);
  }
  while (p.total_live < live) add(p.cursor++ % p.ids.size(), +1);
  for (size_t i = 0; i < p.ids.size() && p.total_live > live; ++i) {
    while (p.live[i] > 1 && p.total_live > live) add(i, -1);
  }
  if (workers != nullptr) workers->Run(ops);
}

// The largest number of sites any shard holds.
uint64_t MaxShardSites() {
  uint64_t most = 0;
  lp::ForEachShard([&](const lp::Shard& s) { most = std::max<uint64_t>(most, s.site_count()); });
  return most;
}

uint64_t FileBytes(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

void BM_Snapshot(benchmark::State& state) {
  const uint64_t live = static_cast<uint64_t>(state.range(0));
  const uint64_t stacks = static_cast<uint64_t>(state.range(1));
  Populate(live, stacks);
  uint64_t bytes = 0;
  for (auto _ : state) {
    uint32_t seq;
    {
      lp::BusyScope busy;
      seq = lp::WriteSnapshot(leaktrace::format::Trigger::kSignal);
    }
    state.PauseTiming();
    if (seq == 0) {
      state.SkipWithError("WriteSnapshot failed");
      break;
    }
    bytes = FileBytes(lp::LastDumpPath());
    unlink(lp::LastDumpPath());
    state.ResumeTiming();
  }
  state.counters["live_allocations"] = static_cast<double>(g_population.total_live);
  state.counters["stacks"] = static_cast<double>(g_population.ids.size());
  state.counters["dump_bytes"] = static_cast<double>(bytes);
  state.counters["tracker_mapped_bytes"] = static_cast<double>(lp::g_tracker_bytes.load());
  state.counters["shards"] = static_cast<double>(lp::ShardCount());
  state.counters["max_shard_sites"] = static_cast<double>(MaxShardSites());
}
BENCHMARK(BM_Snapshot)
    ->Args({10000, 1000})
    ->Args({100000, 10000})
    ->Args({1000000, 10000})
    ->Args({1000000, 100000})
    ->Args({1000000, 1000000})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0)
    ->UseRealTime();

char g_dump_dir[] = "/tmp/leaktrace-bench-core-XXXXXX";

}  // namespace

int main(int argc, char** argv) {
  // Exact mode, no exit dump; everything else default.
  setenv("LEAKTRACE_SAMPLE", "1", 1);
  setenv("LEAKTRACE_ON_EXIT", "0", 1);
  const char* dir = getenv("LEAKTRACE_BENCH_DUMP_DIR");
  const bool own_dir = dir == nullptr || *dir == '\0';
  if (own_dir) {
    if (mkdtemp(g_dump_dir) == nullptr) {
      perror("bench_core: mkdtemp");
      return 1;
    }
    dir = g_dump_dir;
  }
  lp::EnsureInitialized();
  if (lp::g_mode != lp::Mode::kExact) {
    fprintf(stderr, "bench_core: the tracker did not start in exact mode\n");
    return 1;
  }
  {
    lp::BusyScope busy;
    lp::GatherProcessFacts(0, nullptr);
  }
  snprintf(lp::g_config.dump_dir, sizeof lp::g_config.dump_dir, "%s", dir);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (own_dir) rmdir(g_dump_dir);
  return 0;
}
