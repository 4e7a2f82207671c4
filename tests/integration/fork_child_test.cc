// Fork children that never exec: which of them write an exit dump
// (LEAKTRACE_ON_EXIT), and how `leaktrace snapshot` reaches one that has no
// control block of its own yet (the library makes it when first needed).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kSubshells = 40;

// bash with kSubshells `$(...)` subshells that live a few milliseconds, then
// one `( ... )` subshell that lives 1.5 s (a read that times out on a FIFO
// nobody writes). Prints "long PID" from that subshell and "main PID" last.
// Nothing in it execs: every process is bash.
std::vector<std::string> SubshellScript(const std::string& fifo) {
  return {"/bin/bash", "-c",
          "for i in {1.." + std::to_string(kSubshells) + "}; do x=$(echo $i); done\n"
          "( read -t 1.5 <> " + fifo + "; echo \"long $BASHPID\" )\n"
          "echo \"main $$ $x\"\n"};
}

std::string MakeFifo(const TempDir& dir) {
  const std::string fifo = dir.path() + "/fifo";
  EXPECT_EQ(mkfifo(fifo.c_str(), 0600), 0) << strerror(errno);
  return fifo;
}

// The dump file names in `dir`.
std::set<std::string> DumpNames(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".dump") names.insert(e.path().filename().string());
  return names;
}

struct ScriptPids {
  std::string main, long_lived;
};

ScriptPids PidsOf(const std::string& out) {
  std::smatch main, long_lived;
  EXPECT_TRUE(std::regex_search(out, main, std::regex("main ([0-9]+) " + std::to_string(kSubshells) + "\n"))) << out;
  EXPECT_TRUE(std::regex_search(out, long_lived, std::regex("long ([0-9]+)\n"))) << out;
  return {main.size() > 1 ? main[1].str() : "?", long_lived.size() > 1 ? long_lived[1].str() : "?"};
}

TEST(ForkChildExitDumps, ShortSubshellsWriteNoneALongOneWritesItsOwn) {
  TempDir dumps, work;
  const CommandResult r = testing::Run(SubshellScript(MakeFifo(work)), {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dumps.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ScriptPids pids = PidsOf(r.out);
  // The script's own exit dump, and the 1.5 s subshell's; none of the 40
  // `$(...)` subshells'.
  EXPECT_EQ(DumpNames(dumps.path()),
            (std::set<std::string>{"bash." + pids.main + ".1.dump", "bash." + pids.long_lived + ".1.dump"}));
  for (const std::string& name : DumpNames(dumps.path())) {
    const CommandResult report = Leaktrace({"report", "--format", "json", dumps.path() + "/" + name});
    EXPECT_EQ(report.exit_code, 0) << name << ": " << report.err;
  }
}

TEST(ForkChildExitDumps, OnExitAllWritesOnePerSubshell) {
  TempDir dumps, work;
  const std::vector<std::string> script = SubshellScript(MakeFifo(work));
  std::vector<std::string> argv = {LEAKTRACE_TEST_CLI, "run", "-o", dumps.path(), "--"};
  argv.insert(argv.end(), script.begin(), script.end());
  // Through `leaktrace run`, which checks the setting and passes it on.
  const CommandResult r = testing::Run(argv, {"LEAKTRACE_ON_EXIT=all", "LEAKTRACE_VERBOSE=0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ScriptPids pids = PidsOf(r.out);
  const std::set<std::string> names = DumpNames(dumps.path());
  EXPECT_EQ(names.size(), static_cast<size_t>(kSubshells + 2)) << "the script, 40 subshells and the long one";
  EXPECT_EQ(names.count("bash." + pids.main + ".1.dump"), 1u);
  EXPECT_EQ(names.count("bash." + pids.long_lived + ".1.dump"), 1u);
  for (const std::string& name : names)
    EXPECT_TRUE(std::regex_match(name, std::regex(R"(bash\.[0-9]+\.1\.dump)"))) << name;
}

TEST(ForkChildExitDumps, RunRefusesAnUnknownOnExitValue) {
  TempDir dumps, work;
  const std::string marker = work.path() + "/ran";
  const CommandResult r = testing::Run({LEAKTRACE_TEST_CLI, "run", "-o", dumps.path(), "--", "/bin/sh", "-c", ": > " + marker},
                              {"LEAKTRACE_ON_EXIT=always"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err,
            "leaktrace: LEAKTRACE_ON_EXIT=always: must be 0, 1 or all (the program would run untracked)\n");
  EXPECT_FALSE(fs::exists(marker)) << "the program ran";
}

// The pids of the leaktrace control blocks `pid` holds (pid= of each
// "/memfd:leaktrace-control" among its descriptors).
std::vector<std::string> ControlBlockPids(pid_t pid) {
  std::vector<std::string> pids;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& e : fs::directory_iterator(fd_dir)) {
    std::error_code ec;
    const std::string target = fs::read_symlink(e.path(), ec).string();
    if (ec || target.rfind("/memfd:leaktrace-control", 0) != 0) continue;
    std::ifstream block(e.path());
    std::string line;
    while (std::getline(block, line))
      if (line.rfind("pid=", 0) == 0) pids.push_back(line.substr(4));
  }
  return pids;
}

pid_t OnlyChildOf(pid_t parent) {
  std::ifstream children("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
  pid_t child = 0, more = 0;
  children >> child;
  EXPECT_FALSE(children >> more) << "more than one child";
  return child;
}

// A young fork child holds its parent's control block only (no system
// calls spent on a block of its own at fork). `leaktrace snapshot CHILD`
// still works: the parent's block gives the signal and the directory; the
// child's dump makes the child's own block. Asked for a snapshot, the young
// child also writes its exit dump.
TEST(ForkChildExitDumps, AYoungChildIsSnapshotThroughItsParentsBlock) {
  TempDir dumps;
  TrackedProgram p({ProgramPath("young_child")}, dumps.path(), {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("child");
  const pid_t parent = p.pid();
  const pid_t child = OnlyChildOf(parent);
  ASSERT_GT(child, 0);
  EXPECT_EQ(ControlBlockPids(child), std::vector<std::string>{std::to_string(parent)})
      << "before its first dump, the child holds its parent's block";

  const CommandResult snap = Leaktrace({"snapshot", "--timeout", "30", std::to_string(child)});
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  const std::string expected = dumps.path() + "/young_child." + std::to_string(child) + ".1.dump";
  EXPECT_EQ(snap.out, expected + "\n");
  EXPECT_EQ(ControlBlockPids(child), std::vector<std::string>{std::to_string(child)})
      << "after it, its own, and the parent's is let go";
  const CommandResult report = Leaktrace({"report", "--format", "json", expected});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const Growth leak = GrowthAt(nlohmann::json::parse(report.out), "child_leak", "young_child");
  EXPECT_EQ(leak.count, 5) << "the snapshot is the child's";
  EXPECT_EQ(leak.bytes, 5 * 100);
  // The child had no dumper thread yet, and waits reading its stdin: the
  // signal's handler started the thread there (nothing a thread's start
  // needs is held in a read), and the thread wrote the snapshot, asking
  // the allocator.
  const nlohmann::json memory = nlohmann::json::parse(report.out)["memory"];
  EXPECT_EQ(memory["allocator"], "glibc") << memory.dump();
  EXPECT_FALSE(memory.contains("not_measured")) << memory.dump();

  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
  // Its exit dump is written by its own thread, which asks the allocator.
  const CommandResult exit_report =
      Leaktrace({"report", "--format", "json", dumps.path() + "/young_child." + std::to_string(child) + ".2.dump"});
  ASSERT_EQ(exit_report.exit_code, 0) << exit_report.err;
  const nlohmann::json exit_memory = nlohmann::json::parse(exit_report.out)["memory"];
  EXPECT_EQ(exit_memory["allocator"], "glibc") << exit_memory.dump();
  EXPECT_FALSE(exit_memory.contains("not_measured")) << exit_memory.dump();
  EXPECT_EQ(DumpNames(dumps.path()),
            (std::set<std::string>{"young_child." + std::to_string(parent) + ".1.dump",
                                   "young_child." + std::to_string(child) + ".1.dump",
                                   "young_child." + std::to_string(child) + ".2.dump"}))
      << "the parent's exit dump; the child's snapshot and, as it was asked for one, its exit dump";
}

// A young child busy in its own code when the snapshot signal comes (no
// wait to be interrupted in): the handler writes the snapshot on the
// interrupted thread, where the allocator may not be asked (that thread
// may hold its locks). The report says so, rather than "allocator not
// known" with its free memory silently in "unexplained".
TEST(ForkChildExitDumps, AYoungChildBusyInItsOwnCodeIsSnapshotByTheHandler) {
  TempDir dumps;
  TrackedProgram p({ProgramPath("young_child"), "spin"}, dumps.path(), {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("spinning");
  const pid_t child = OnlyChildOf(p.pid());
  ASSERT_GT(child, 0);
  const CommandResult snap = Leaktrace({"snapshot", "--timeout", "30", std::to_string(child)});
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  const std::string expected = dumps.path() + "/young_child." + std::to_string(child) + ".1.dump";
  EXPECT_EQ(snap.out, expected + "\n");
  kill(child, SIGUSR1);
  EXPECT_EQ(p.Wait(), 0);
  const CommandResult report = Leaktrace({"report", "--format", "json", expected});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_EQ(GrowthAt(nlohmann::json::parse(report.out), "child_leak", "young_child").count, 5);
  const nlohmann::json memory = nlohmann::json::parse(report.out)["memory"];
  EXPECT_TRUE(memory["allocator"].is_null()) << memory.dump();
  EXPECT_NE(memory.value("not_measured", nlohmann::json::array()).dump().find("allocator_free"), std::string::npos)
      << memory.dump();
  const CommandResult text = Leaktrace({"report", expected});
  EXPECT_NE(text.out.find("allocator not asked"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("not measured (in unexplained: the snapshot was written in the signal handler"),
            std::string::npos)
      << text.out;
}

// A worker that may start no thread (haproxy's workers set RLIMIT_NPROC to
// 0 after dropping to nobody) cannot have leaktrace's dumper thread either.
// Each snapshot is then written by the signal's handler on the thread it
// interrupts, as in a young child; the request used to wait for a thread
// that never came (haproxy -W: `leaktrace snapshot WORKER` timed out once
// the worker had served a request, 5 of 5).
TEST(ForkChildExitDumps, AWorkerThatMayStartNoThreadIsStillSnapshot) {
  TempDir dumps;
  TrackedProgram p({ProgramPath("threadless_worker")}, dumps.path(), {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("worker");
  const pid_t child = OnlyChildOf(p.pid());
  ASSERT_GT(child, 0);
  std::string first;
  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE(round);
    const CommandResult snap = Leaktrace({"snapshot", "--timeout", "10", std::to_string(child)});
    ASSERT_EQ(snap.exit_code, 0) << snap.err;
    const std::string expected = dumps.path() + "/threadless_worker." + std::to_string(child) + "." +
                                 std::to_string(round) + ".dump";
    EXPECT_EQ(snap.out, expected + "\n");
    const CommandResult report = Leaktrace({"report", "--format", "json", expected});
    ASSERT_EQ(report.exit_code, 0) << report.err;
    const Growth leak = GrowthAt(nlohmann::json::parse(report.out), "worker_leak", "threadless_worker");
    EXPECT_EQ(leak.count, 5);
    p.Continue();
    if (round == 1) p.ExpectCheckpoint("worker");
  }
  EXPECT_EQ(p.Wait(), 0);
}

// A young fork child holding only its parent's block is tracked all the
// same: `leaktrace attach` refuses it, as it refuses the parent.
TEST(ForkChildExitDumps, AttachRefusesAYoungChildOfATrackedProcess) {
  TempDir dumps;
  TrackedProgram p({ProgramPath("young_child")}, dumps.path());
  p.ExpectCheckpoint("child");
  const pid_t child = OnlyChildOf(p.pid());
  ASSERT_GT(child, 0);
  ASSERT_EQ(ControlBlockPids(child), std::vector<std::string>{std::to_string(p.pid())});
  const CommandResult r = Leaktrace({"attach", std::to_string(child)});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("is already tracked by leaktrace"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
}

// A child forked inside its parent's signal handler lives on in it (as
// postgres's walwriter and autovacuum launcher do): the signal frame on its
// stack predates the fork, so its waits start its dumper thread, and a
// snapshot of it is taken (before: refused for good, and `leaktrace
// snapshot` failed after its timeout).
TEST(ForkChildExitDumps, AChildForkedInASignalHandlerIsSnapshot) {
  TempDir dumps;
  TrackedProgram p({ProgramPath("fork_in_handler")}, dumps.path());
  p.ExpectCheckpoint("child");
  const pid_t child = OnlyChildOf(p.pid());
  ASSERT_GT(child, 0);
  usleep(200 * 1000);  // into its waits
  const CommandResult snap = Leaktrace({"snapshot", "--timeout", "2", std::to_string(child)});
  EXPECT_EQ(snap.exit_code, 0) << snap.err;
  EXPECT_EQ(snap.out, dumps.path() + "/fork_in_handler." + std::to_string(child) + ".1.dump\n");
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
}

}  // namespace
}  // namespace leaktrace::testing
