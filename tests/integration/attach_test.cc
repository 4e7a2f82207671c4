// leaktrace attach, end to end: a program started without the library, the
// real `leaktrace attach` while it waits at a checkpoint, snapshots by the
// real `leaktrace snapshot`, numbers from the real `leaktrace diff`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

constexpr double kSample = 64 * 1024;

// The program's output after its checkpoints, run without any attach.
std::string ReferenceOutput(const TempDir& dir) {
  TrackedProgram p({ProgramPath("attach_target")}, dir.path(), {}, /*preload=*/false);
  p.ExpectCheckpoint("ready");
  p.Continue();
  p.ExpectCheckpoint("before");
  p.Continue();
  p.ExpectCheckpoint("after");
  p.Continue();
  std::string out = p.RestOfOutput();
  EXPECT_EQ(p.Wait(), 0);
  return out;
}

// Sites whose label starts with "before attach".
Growth BeforeAttach(const nlohmann::json& diff, const std::string& resource) {
  Growth g;
  for (const auto& site : diff["sites"]) {
    if (site.value("resource", "") != resource || site.value("label", "").rfind("before attach", 0) != 0) continue;
    EXPECT_TRUE(site["frames"].empty()) << site.dump();
    g.bytes += site.value("bytes", 0.0);
    g.count += site.value("count", 0.0);
    ++g.sites;
  }
  return g;
}

TEST(AttachTest, TracksFromTheAttachOnAndLeavesTheProgramAlone) {
  TempDir dir;
  const std::string reference = ReferenceOutput(dir);
  ASSERT_NE(reference.find("thread errors 0\nchurn"), std::string::npos) << reference;

  // Started through a symbolic link of another name (as redis-server is
  // one to redis-check-rdb): attach names the program it was started as.
  const std::string link = dir.path() + "/served-through-a-link";
  std::filesystem::create_symlink(ProgramPath("attach_target"), link);
  TrackedProgram p({link}, dir.path(), {}, /*preload=*/false);
  p.ExpectCheckpoint("ready");  // blocked in read(0): where attach finds it
  const CommandResult attached =
      Leaktrace({"attach", "-o", dir.path(), "--sample", "64k", std::to_string(p.pid())});
  ASSERT_EQ(attached.exit_code, 0) << attached.err;
  EXPECT_NE(attached.out.find("attached to process " + std::to_string(p.pid()) + " (served-through-a-link)"),
            std::string::npos)
      << attached.out;

  // A second attach is refused: the process is tracked already.
  const CommandResult again = Leaktrace({"attach", std::to_string(p.pid())});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already tracked"), std::string::npos) << again.err;

  p.Continue();
  p.ExpectCheckpoint("before");
  const std::string before = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  const std::string after = p.Snapshot();
  p.Continue();
  const std::string output = p.RestOfOutput();
  EXPECT_EQ(p.Wait(), 0);
  // The program computed exactly what it computes untracked: its old blocks
  // (freed and reallocated by the real allocator) kept their contents.
  EXPECT_EQ(output, reference);

  const CommandResult report = Leaktrace({"report", after});
  EXPECT_NE(report.out.find("attached at"), std::string::npos) << report.out;

  const nlohmann::json diff = DiffJson(before, after);
  // 64 MiB in 4 KiB blocks, sampled every 64 KiB on average: the estimate's
  // standard deviation is sqrt(n s^2 (1-p)/p) with p = 1 - exp(-s/T). The
  // samples are a binomial count (~990): outside 5 standard deviations with
  // probability 6e-7, outside 6.5 with 1.3e-10 (a band of 20 %).
  const double n = 64 * 256, s = 4096, prob = 1 - std::exp(-s / kSample);
  const double sd = std::sqrt(n * s * s * (1 - prob) / prob);
  const Growth leak = GrowthAt(diff, "leak_blocks", "attach_target");
  EXPECT_NEAR(leak.bytes, n * s, 6.5 * sd) << diff.dump(1);

  // Descriptors are exact: 200 leaked; 10 of the 20 from before the attach
  // closed, booked against the "before attach" site they were listed at.
  const Growth fds = GrowthAt(diff, "leak_fds", "attach_target", "fd");
  EXPECT_EQ(fds.count, 200);
  const Growth old_fds = BeforeAttach(diff, "fd");
  EXPECT_EQ(old_fds.count, -10) << diff.dump(1);

  // Freeing and reallocating the blocks from before the attach books
  // nothing: none of the heap's sites comes from allocate_old.
  EXPECT_EQ(GrowthThrough(diff, "allocate_old").sites, 0);
}

// A program with a SIGUSR2 handler of its own when attached to (ruby,
// python with signal.signal): leaktrace takes another signal without a
// line on the program's stderr (before: "the program already handles
// signal 12; leaktrace leaves it alone ..."), and a snapshot still comes.
TEST(AttachTest, AProgramOwningSigusr2HearsNothingOfTheAttach) {
  TempDir dir;
  const std::string err = dir.path() + "/stderr";
  TrackedProgram p({"/bin/sh", "-c", "exec 2>\"$0\"; trap 'echo usr2 >&2' USR2; echo ready; read x; echo done", err},
                   dir.path(), {}, /*preload=*/false);
  p.ExpectCheckpoint("ready");
  const CommandResult attached = Leaktrace({"attach", "-o", dir.path(), std::to_string(p.pid())});
  ASSERT_EQ(attached.exit_code, 0) << attached.err;
  const std::string dump = p.Snapshot();
  EXPECT_TRUE(std::filesystem::exists(dump));
  p.Continue();
  EXPECT_EQ(p.RestOfOutput(), "done\n");
  EXPECT_EQ(p.Wait(), 0);
  std::ifstream in(err);
  const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(said, "");
}

// A process attached to that already handles SIGUSR2 and every real-time
// signal (a Go program) leaves the library no snapshot signal. Its control
// block said signal 12 all the same (written before the library looked),
// and `leaktrace snapshot` sent SIGUSR2 to a program thread: the program's
// handler ran, no dump came. Now the block says signal 0 and the command
// asks through it, sending nothing.
TEST(AttachTest, AProgramOwningEverySignalIsSnapshotWithoutOne) {
  TempDir dir;
  TrackedProgram p({ProgramPath("signal_owner"), "serveall", "6", "busy"}, dir.path(), {}, /*preload=*/false);
  p.ExpectCheckpoint("ready");
  const CommandResult attached = Leaktrace({"attach", "-o", dir.path(), std::to_string(p.pid())});
  ASSERT_EQ(attached.exit_code, 0) << attached.err;
  const CommandResult r = Leaktrace({"snapshot", "--timeout", "20", std::to_string(p.pid())});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(r.out.substr(0, r.out.find('\n')))) << r.out;
  EXPECT_EQ(p.Wait(), 0) << "1: the program's sleep was cut short, 3: its handler ran";
}

// Debian's python3 and node are not PIE and take malloc's address, so the
// executable holds a canonical PLT entry for it, which dlsym(RTLD_DEFAULT)
// answers. The attach took that stub for what the import slots are bound
// to and rewrote none: the heap read 0 B, "allocator not known", no
// warning. Now the slots are found and the heap is tracked.
TEST(AttachTest, AProgramWithACanonicalPltEntryForMallocIsTracked) {
  TempDir dir;
  TrackedProgram p({ProgramPath("canonical_plt")}, dir.path(), {}, /*preload=*/false);
  p.ExpectCheckpoint("ready");
  const CommandResult attached = Leaktrace({"attach", "-o", dir.path(), std::to_string(p.pid())});
  ASSERT_EQ(attached.exit_code, 0) << attached.err;
  p.Continue();
  p.ExpectCheckpoint("after");
  const std::string dump = p.Snapshot();
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
  const CommandResult report = Leaktrace({"report", "--format", "json", dump});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const nlohmann::json j = nlohmann::json::parse(report.out);
  // 400 blocks of 100,000 bytes, sampled every 512 KiB (each with
  // p = 0.17, ~70 samples of 576 KB): a quarter of the 40 MB, far from the
  // 0 B of an untracked heap. Half of it (34 samples or fewer) came with
  // probability 3e-7; a quarter (17 or fewer) comes with 1e-15.
  EXPECT_GT(j["summary"]["heap"]["bytes"].get<double>(), 10e6) << report.out.substr(0, 2000);
  EXPECT_EQ(j["memory"]["allocator"], "glibc");
}

// A process whose only thread waits in a futex (with a timeout, so that the
// kernel restarts it as restart_syscall after the attach's interrupt) offers
// no safe thread: attach gives up (exit 2) and the program runs on untouched.
TEST(AttachTest, NeverBorrowsAThreadWaitingInAFutex) {
  TempDir dir;
  TrackedProgram p({ProgramPath("futex_waiter")}, dir.path(), {}, /*preload=*/false);
  p.ExpectCheckpoint("waiting");
  const CommandResult r = Leaktrace({"attach", "-o", dir.path(), std::to_string(p.pid())});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  // Said as it is: every thread waits in futex (an idle JVM's all do), so
  // waiting for the process to be "idle" cannot help (it said "try again
  // when it is idle").
  EXPECT_NE(r.err.find("every thread of process " + std::to_string(p.pid()) + " waits in futex"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("leaktrace run"), std::string::npos) << r.err;
  EXPECT_EQ(p.Wait(), 0);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "the program wrote dumps: it was attached";
}

TEST(AttachTest, RefusesExactModeAndBadTargets) {
  TempDir dir;
  TrackedProgram p({ProgramPath("attach_target")}, dir.path(), {}, /*preload=*/false);
  p.ExpectCheckpoint("ready");
  const CommandResult exact = Leaktrace({"attach", "--sample", "1", std::to_string(p.pid())});
  EXPECT_EQ(exact.exit_code, 2);
  EXPECT_NE(exact.err.find("exact mode"), std::string::npos) << exact.err;

  // A preloaded process is tracked already.
  TrackedProgram preloaded({ProgramPath("attach_target")}, dir.path());
  preloaded.ExpectCheckpoint("ready");
  const CommandResult tracked = Leaktrace({"attach", std::to_string(preloaded.pid())});
  EXPECT_EQ(tracked.exit_code, 2);
  EXPECT_NE(tracked.err.find("already tracked"), std::string::npos) << tracked.err;

  // A setting the library would refuse once loaded (it then stays in the
  // process untracking, and no later attach or snapshot reaches it) is
  // refused first, the program untouched.
  const CommandResult on_exit =
      leaktrace::testing::Run({LEAKTRACE_TEST_CLI, "attach", "-o", dir.path(), std::to_string(p.pid())}, {"LEAKTRACE_ON_EXIT=yes"});
  EXPECT_EQ(on_exit.exit_code, 2);
  EXPECT_NE(on_exit.err.find("LEAKTRACE_ON_EXIT=yes"), std::string::npos) << on_exit.err;
  const CommandResult no_stacks = leaktrace::testing::Run(
      {LEAKTRACE_TEST_CLI, "attach", "-o", dir.path(), std::to_string(p.pid())}, {"LEAKTRACE_MAX_STACKS=0"});
  EXPECT_EQ(no_stacks.exit_code, 2);
  EXPECT_NE(no_stacks.err.find("LEAKTRACE_MAX_STACKS=0: not a count from 1 to 16m"), std::string::npos)
      << no_stacks.err;
  // The stack budget reaches the library as a number (4k: 4096).
  const CommandResult after = leaktrace::testing::Run(
      {LEAKTRACE_TEST_CLI, "attach", "-o", dir.path(), std::to_string(p.pid())}, {"LEAKTRACE_MAX_STACKS=4k"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  if (after.exit_code == 0) {
    const nlohmann::json report = nlohmann::json::parse(Leaktrace({"report", "--format", "json", p.Snapshot()}).out);
    EXPECT_EQ(report["dumps"][0]["health"].value("max_stacks", 0), 4096) << report["dumps"][0]["health"].dump();
  }

  const CommandResult gone = Leaktrace({"attach", "999999999"});
  EXPECT_EQ(gone.exit_code, 2);
  const CommandResult bad = Leaktrace({"attach", "nonsense"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("not a process id"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace leaktrace::testing
