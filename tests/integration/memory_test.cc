// Where the RSS went, end to end: rss_breakdown (programs/rss_breakdown.c)
// leaks 40 MiB of heap, fragments 256 MiB and starts 16 threads that block
// forever between two snapshots, under glibc and under jemalloc. The diff's
// "memory" parts must add up to the RSS growth, "heap" must be the live
// growth (within sampling error), "allocator_free" must carry the
// fragmentation, "thread_stacks" the new threads, and "unexplained" must
// stay small.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
// rss_breakdown.c's constants.
constexpr double kLeak = 40 * kMiB + (40 * kMiB / 4096) * 8;  // the blocks and their pointer array
constexpr double kFragBlocks = 256 * kMiB / 1024;
constexpr double kFragLive = (kFragBlocks / 16) * 1024 + kFragBlocks * 8;  // every 16th block, the array
constexpr double kLive = kLeak + kFragLive;                                  // ~58 MiB
constexpr double kFreed = kFragBlocks * 15 / 16 * 1024;                      // 240 MiB left as holes

struct Parts {
  double rss, heap, heap_stderr, allocator_free, mmap, thread_stacks, leaktrace, unexplained, threads;
};

Parts PartsOf(const nlohmann::json& memory) {
  auto get = [&](const char* name) { return memory.at(name).get<double>(); };
  return {get("rss"),     get("heap"),          memory.value("heap_stderr", 0.0), get("allocator_free"),
          get("mmap"),    get("thread_stacks"), get("leaktrace"),                 get("unexplained"),
          get("threads")};
}

// Whether every thread of `pid` is blocked in the kernel: one that runs (or
// waits for a CPU) shows "running" in /proc/PID/task/TID/syscall, and a
// snapshot taken then cannot read its stack pointer (threads_unlocated).
bool EveryThreadBlocked(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream in(task.path() / "syscall");
    std::string first;
    if (!(in >> first) || first == "running") return false;
  }
  return !error;
}

void WaitUntilEveryThreadIsBlocked(pid_t pid) {
  for (int i = 0; i < 1000 && !EveryThreadBlocked(pid); ++i) usleep(10 * 1000);
  EXPECT_TRUE(EveryThreadBlocked(pid)) << "a thread of " << pid << " still runs after 10 s";
}

// RunBetweenCheckpoints, with every thread of the program blocked at each
// snapshot. Taken as soon as the checkpoint is read, a snapshot could find
// a thread not yet in its wait (the main thread between printing the
// checkpoint and its read, a new thread before its pause) or woken by the
// snapshot's own signal to start leaktrace's dumper thread (the first
// one): the diff's threads_unlocated read -1 in ~1 run of 50 of the
// jemalloc case on a loaded machine. A first snapshot starts that thread;
// the two measured ones come once every thread waits.
Snapshots BlockedSnapshots(const std::vector<std::string>& argv, const TempDir& dir,
                           const std::vector<std::string>& env) {
  Snapshots s;
  TrackedProgram p(argv, dir.path(), env);
  p.ExpectCheckpoint("before");
  WaitUntilEveryThreadIsBlocked(p.pid());
  p.Snapshot();
  WaitUntilEveryThreadIsBlocked(p.pid());
  s.before = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  WaitUntilEveryThreadIsBlocked(p.pid());
  s.after = p.Snapshot();
  p.Continue();
  s.exit_code = p.Wait();
  return s;
}

void ExpectBreakdown(const std::vector<std::string>& env, const std::string& allocator) {
  TempDir dir;
  const Snapshots s = BlockedSnapshots({ProgramPath("rss_breakdown")}, dir, env);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);
  ASSERT_TRUE(diff.contains("memory") && diff["memory"].is_object()) << diff.dump();
  const nlohmann::json& memory = diff["memory"];
  SCOPED_TRACE(memory.dump());
  EXPECT_EQ(memory["allocator"], allocator);
  const Parts p = PartsOf(memory);

  // By construction, to the byte.
  EXPECT_EQ(p.heap + p.allocator_free + p.mmap + p.thread_stacks + p.leaktrace + p.unexplained, p.rss);
  // RSS grew by the live heap and the holes at least.
  EXPECT_GT(p.rss, kLive + 0.8 * kFreed);
  // The heap is the live growth: 7 standard errors (sampled), or leaktrace's
  // own per-block rounding (exact: none). The blocks are sampled each on
  // its own, so the error is that of two binomial counts (10,240 blocks of
  // 4 KiB, 16,384 of 1 KiB) and two single blocks; computed exactly from
  // them, 4 standard errors failed with probability 2e-5 at 64k and 7e-5
  // at 256k, 7 fail with 7e-12 and 5e-10.
  EXPECT_NEAR(p.heap, kLive, 7 * p.heap_stderr + 0.01 * kLive);
  // The fragmentation sits with the allocator, not in "unexplained".
  EXPECT_GT(p.allocator_free, 0.8 * kFreed);
  EXPECT_LT(std::fabs(p.unexplained), 0.05 * p.rss) << "unexplained RSS growth is not small";
  // 16 threads, each with at least the page it blocks on.
  EXPECT_EQ(p.threads, 16);
  EXPECT_EQ(memory["threads_unlocated"], 0);
  EXPECT_GE(p.thread_stacks, 16 * 4096);
  EXPECT_LT(p.thread_stacks, 16 * 1 * kMiB);
  EXPECT_LT(std::fabs(p.mmap), 1 * kMiB);  // the program maps nothing itself
  // ... and the same 16 threads, exactly, at the function that spawned them.
  const Growth pool = GrowthAt(diff, "start_blocked_threads", "rss_breakdown", "thread");
  EXPECT_EQ(pool.count, 16) << diff.dump();
  EXPECT_EQ(pool.sites, 1);
  EXPECT_GT(pool.bytes, 0);

  // The text says it is fragmentation.
  const CommandResult text = Leaktrace({"diff", s.before, s.after});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("held free by the allocator"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("fragmentation, not a leak"), std::string::npos) << text.out;

  // The gates: RSS grew by ~300 MiB, unexplained by little.
  EXPECT_EQ(Leaktrace({"check", "--max-rss", "100m", s.before, s.after}).exit_code, 1);
  EXPECT_EQ(Leaktrace({"check", "--max-rss", "2g", s.before, s.after}).exit_code, 0);
  EXPECT_EQ(Leaktrace({"check", "--max-unexplained", "64m", s.before, s.after}).exit_code, 0);

  // A report of the later dump: live figures with the peak beside them; the
  // peak is at least what is live now (the fragmenting loop went higher).
  const CommandResult report = Leaktrace({"report", "--format", "json", s.after});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const nlohmann::json live = nlohmann::json::parse(report.out)["memory"];
  const Parts l = PartsOf(live);
  EXPECT_EQ(l.heap + l.allocator_free + l.mmap + l.thread_stacks + l.leaktrace + l.unexplained, l.rss);
  EXPECT_GT(live["heap_peak"].get<double>(), l.heap + 0.8 * kFreed - 4 * l.heap_stderr);
}

// 800 threads alive at once, each with its shard and unwind cache, then
// joined: leaktrace's own part of the exit dump's RSS is what of its memory
// is resident, not what it has mapped (most of each thread's arena chunk
// was never written). Counting mapped memory made leaktrace's part larger
// than the whole RSS in exact mode, and "unexplained" 23 MiB below zero.
TEST(Memory, ManyThreadsDoNotOverstateLeaktracesOwnMemory) {
  for (const std::string sample : {"1", "512k"}) {
    TempDir dir;
    const CommandResult r = leaktrace::testing::Run({ProgramPath("many_threads"), "800"},
        {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=" + sample});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::vector<std::string> dumps;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps.push_back(e.path().string());
    ASSERT_EQ(dumps.size(), 1u);
    const CommandResult report = Leaktrace({"report", "--format", "json", dumps[0]});
    ASSERT_EQ(report.exit_code, 0) << report.err;
    const Parts p = PartsOf(nlohmann::json::parse(report.out)["memory"]);
    EXPECT_LT(p.leaktrace, p.rss) << "LEAKTRACE_SAMPLE=" << sample;
    EXPECT_GT(p.unexplained, -2 * kMiB) << "LEAKTRACE_SAMPLE=" << sample << ": leaktrace " << p.leaktrace << " of "
                                        << p.rss;
  }
}

TEST(Memory, RssBreakdownOnGlibcSampled) { ExpectBreakdown({"LEAKTRACE_SAMPLE=64k"}, "glibc"); }

TEST(Memory, RssBreakdownOnGlibcExact) { ExpectBreakdown({"LEAKTRACE_SAMPLE=1"}, "glibc"); }

TEST(Memory, RssBreakdownOnJemalloc) {
  // 256k, not 64k: jemalloc counts the never-written pages of sampled blocks' slack as resident
  // (docs/cli.md), which the more samples the more pushes "unexplained" below 0.
  ExpectBreakdown({"LEAKTRACE_SAMPLE=256k", std::string("LD_PRELOAD=") + LEAKTRACE_TEST_JEMALLOC}, "jemalloc");
}

// The exit dump is written on the program's own thread while leaktrace's
// dumper thread may still be there: the dumper thread is not the program's
// (docs/dump-format.md, threads), whether the library finds the threads by
// listing them (several) or from /proc/self/status alone (one).
void ExpectExitDumpThreads(int threads) {
  TempDir dir;
  const CommandResult r = Run({ProgramPath("exit_threads"), std::to_string(threads)},
                              {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string dump;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) dump = e.path().string();
  ASSERT_FALSE(dump.empty()) << "no exit dump";
  const CommandResult report = Leaktrace({"report", "--format", "json", dump});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const nlohmann::json memory = nlohmann::json::parse(report.out)["memory"];
  SCOPED_TRACE(memory.dump());
  EXPECT_EQ(memory["threads"].get<int>(), threads + 1) << "the program's threads, main included";
  EXPECT_EQ(memory["threads_unlocated"].get<int>(), 0);
  EXPECT_GE(memory["thread_stacks"].get<double>(), (threads + 1) * 4096.0);
}

// A daemon started as root that drops to nobody (memcached -u nobody,
// haproxy, lighttpd) is no longer dumpable, and the kernel gives its
// /proc/self/pagemap to root: the memory section lost its mappings and
// thread stacks (written as "not measured", shown as 0 B, the bytes moved
// to "unexplained", "threads" 0). memcached -u nobody: mappings 0 B,
// thread stacks 0 B and threads 0 for its 10 threads.
TEST(Memory, ADaemonThatDroppedPrivilegesStillMeasuresItsMappingsAndThreads) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the program drops from root to nobody";
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("dropped_memory")}, dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);
  ASSERT_TRUE(diff.contains("memory") && diff["memory"].is_object()) << diff.dump();
  const nlohmann::json& memory = diff["memory"];
  SCOPED_TRACE(memory.dump());
  const Parts p = PartsOf(memory);
  // dropped_memory.c: 8 MiB mapped and written, 4 threads that block.
  EXPECT_GE(p.mmap, 8 * kMiB);
  EXPECT_LT(p.mmap, 8 * kMiB + 64 * 1024);
  EXPECT_EQ(p.threads, 4);
  EXPECT_EQ(memory["threads_unlocated"], 0);
  EXPECT_GE(p.thread_stacks, 4 * 4096);
  EXPECT_LT(p.thread_stacks, 4 * kMiB);
  EXPECT_LT(std::fabs(p.unexplained), 2 * kMiB) << "the mapping fell to unexplained";
  // The snapshot "after" itself: the program's five threads, each found.
  const CommandResult report = Leaktrace({"report", "--format", "json", s.after});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const nlohmann::json live = nlohmann::json::parse(report.out)["memory"];
  EXPECT_EQ(live["threads"].get<int>(), 5) << live.dump();
  EXPECT_EQ(live["threads_unlocated"].get<int>(), 0) << live.dump();
}

TEST(Memory, TheExitDumpOfOneThreadCountsItAlone) { ExpectExitDumpThreads(0); }

TEST(Memory, TheExitDumpCountsTheProgramsThreadsNotLeaktraces) { ExpectExitDumpThreads(3); }

// More threads than the library keeps stack pointers for on its stack (128).
TEST(Memory, TheExitDumpOfManyThreadsCountsEach) { ExpectExitDumpThreads(200); }

}  // namespace
}  // namespace leaktrace::testing
