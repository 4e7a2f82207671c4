// The host program comes first: threads by the thousand, fork and exec under
// load, snapshot storms, a program that owns the snapshot signal, start-up
// code that runs before leaktrace is ready.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Dumps(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json ReportJson(const std::string& dump) {
  const CommandResult r = Leaktrace({"report", "--format", "json", dump});
  EXPECT_EQ(r.exit_code, 0) << dump << ": " << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

CommandResult RunTracked(const std::vector<std::string>& argv, const std::string& dir,
                         std::vector<std::string> env = {}) {
  env.push_back("LD_PRELOAD=" + LibraryPath());
  env.push_back("LEAKTRACE_DIR=" + dir);
  return Run(argv, env);
}

TEST(Robustness, ThousandsOfShortLivedThreadsKeepTheirData) {
  TempDir dir;
  TrackedProgram p({ProgramPath("thread_storm"), "2000"}, dir.path(), {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("before");
  const std::string before = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  const std::string after = p.Snapshot();
  p.Continue();
  ASSERT_EQ(p.Wait(), 0);
  const nlohmann::json diff = DiffJson(before, after);
  const Growth leak = GrowthAt(diff, "thread_leak", "thread_storm");
  EXPECT_EQ(leak.count, 2000) << "every exited thread's leak is kept";
  EXPECT_EQ(leak.bytes, 2000 * 72);
  // Freed by a key destructor after leaktrace's own per-thread state is gone.
  EXPECT_EQ(GrowthAt(diff, "tls_block", "thread_storm").count, 0);
  EXPECT_EQ(GrowthThrough(diff, "worker").count, 2000) << "only the leak remains of each thread";
}

TEST(Robustness, ForkWhileThreadsAllocateNeverDeadlocks) {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  // LEAKTRACE_ON_EXIT=all: the young children's exit dumps too.
  const CommandResult r =
      RunTracked({ProgramPath("fork_storm"), "30"}, dir.path(), {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=all"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("children 30 failures 0"), std::string::npos) << r.out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
  const std::vector<std::string> dumps = Dumps(dir.path());
  ASSERT_EQ(dumps.size(), 31u) << "30 children and the parent each write an exit dump";
  int children_with_leak = 0;
  for (const std::string& d : dumps) {
    const Growth g = GrowthAt(ReportJson(d), "child_leak", "fork_storm");
    if (g.count == 3 && g.bytes == 3 * 333) ++children_with_leak;
  }
  EXPECT_EQ(children_with_leak, 30);
}

TEST(Robustness, ExecedProgramsAreTrackedUnlessTurnedOff) {
  {
    TempDir dir;
    const CommandResult r = RunTracked({ProgramPath("exec_child")}, dir.path(), {"LEAKTRACE_SAMPLE=1"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    int tracked_children = 0;
    for (const std::string& d : Dumps(dir.path()))
      if (GrowthAt(ReportJson(d), "child_leak", "exec_child").count == 1) ++tracked_children;
    EXPECT_EQ(tracked_children, 3) << "posix_spawn, vfork+exec and fork+exec children";
  }
  {
    TempDir dir;
    const CommandResult r =
        RunTracked({ProgramPath("exec_child")}, dir.path(), {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_FOLLOW_EXEC=0"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(Dumps(dir.path()).size(), 1u) << "only the parent is tracked";
  }
}

TEST(Robustness, SnapshotEvery10msWhileThreadsAllocate) {
  TempDir dir;
  TrackedProgram p({ProgramPath("busy_threads"), "3"}, dir.path());
  p.ExpectCheckpoint("running");
  int sent = 0;
  for (int i = 0; i < 200; ++i) {
    if (kill(p.pid(), SIGUSR2) == 0) ++sent;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(p.Wait(), 0) << "the program survived " << sent << " snapshot signals";
  const std::vector<std::string> dumps = Dumps(dir.path());
  EXPECT_GE(dumps.size(), 10u);
  for (const std::string& d : dumps)
    EXPECT_TRUE(std::regex_search(d, std::regex(R"(/busy_threads\.[0-9]+\.[0-9]+\.dump$)"))) << "stray file " << d;
  // One reader over all of them: any damaged dump fails the whole command.
  std::vector<std::string> args{"report", "--format", "json"};
  args.insert(args.end(), dumps.begin(), dumps.end());
  const CommandResult r = Leaktrace(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Robustness, ProgramThatOwnsTheSnapshotSignalKeepsItsBehaviour) {
  TempDir dir;
  // Verbose: the note is said once however often the program sets its
  // handler (without it, never: SignalOwnership.TakingSigusr2AddsNothingToTheProgramsStderr).
  const CommandResult r = RunTracked({ProgramPath("own_handler")}, dir.path(), {"LEAKTRACE_VERBOSE=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("handled 3"), std::string::npos);
  size_t notes = 0;
  for (size_t at = r.err.find("own handler for signal"); at != std::string::npos;
       at = r.err.find("own handler for signal", at + 1))
    ++notes;
  EXPECT_EQ(notes, 1u) << r.err;
}

TEST(Robustness, ConstructorsBeforeLeaktraceAndTheirThreads) {
  TempDir dir;
  const CommandResult r = RunTracked({ProgramPath("ctor_program")}, dir.path(), {"LEAKTRACE_SAMPLE=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "from the constructor's thread\n");
  const std::vector<std::string> dumps = Dumps(dir.path());
  ASSERT_EQ(dumps.size(), 1u);
  const Growth g = GrowthAt(ReportJson(dumps[0]), "ctor_allocate", "libctor_lib.so");
  EXPECT_EQ(g.count, 1);
  EXPECT_EQ(g.bytes, 4242);
}

// `leaktrace report` under a descriptor limit it soon reaches (`ulimit -n
// 5`): libdwfl's search for libc's separate debug information could open no
// file, and the command blamed libc for having none ("install -dbgsym
// packages"). It now says what stopped it.
TEST(Robustness, ReportOutOfDescriptorsNeverBlamesMissingDebugInformation) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("leaky_c")}, dir, {"LEAKTRACE_SAMPLE=1"});
  ASSERT_EQ(s.exit_code, 0);
  const CommandResult normal = leaktrace::testing::Run({LEAKTRACE_TEST_CLI, "report", s.after});
  ASSERT_EQ(normal.exit_code, 0) << normal.err;
  if (normal.err.find("libc.so.6") != std::string::npos)
    GTEST_SKIP() << "libc's debug information is not installed here (libc6-dbg): " << normal.err;
  bool out_of_descriptors = false, sanitizer_failed = false;
  // From a limit too tight to load the command (the descriptors the test
  // runner leaves open count too) up to one it does not reach.
  for (int limit = 4; limit <= 14; ++limit) {
    const CommandResult r = leaktrace::testing::Run(
        {"/bin/sh", "-c", "ulimit -n " + std::to_string(limit) + " && exec \"$0\" report \"$1\"", LEAKTRACE_TEST_CLI,
         s.after});
    if (r.exit_code == 127 && r.err.find("error while loading shared libraries") != std::string::npos) continue;
    // The command built with ASan+UBSan (CI's second build): UBSan's own
    // type checks fail without a descriptor ("invalid vptr").
    if (r.err.find("runtime error:") != std::string::npos || r.err.find("Sanitizer") != std::string::npos) {
      sanitizer_failed = true;
      continue;
    }
    EXPECT_EQ(r.exit_code, 0) << "ulimit -n " << limit << ": " << r.err;
    std::istringstream lines(r.err);
    for (std::string line; std::getline(lines, line);) {
      const bool blames = line.find("no debug information") != std::string::npos;
      EXPECT_FALSE(blames && line.find("libc.so.6") != std::string::npos) << "ulimit -n " << limit << ": " << line;
      if (line.find("Too many open files") != std::string::npos) out_of_descriptors = true;
    }
  }
  if (!out_of_descriptors && sanitizer_failed) GTEST_SKIP() << "the sanitized command fails on its own under these limits";
  EXPECT_TRUE(out_of_descriptors) << "no limit tried ran the command out of descriptors";
}

}  // namespace
}  // namespace leaktrace::testing

namespace leaktrace::testing {
namespace {

// realloc must carry every usable byte of the old block, not just the bytes
// asked for: in sampled mode a sampled block moves to an unsampled one.
TEST(Robustness, ReallocKeepsEveryUsableByte) {
  for (const std::string sample : {"64", "512k", "1"}) {
    TempDir dir;
    const CommandResult r = testing::Run({ProgramPath("realloc_usable")}, {"LD_PRELOAD=" + LibraryPath(),
                                                                   "LEAKTRACE_DIR=" + dir.path(),
                                                                   "LEAKTRACE_SAMPLE=" + sample});
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.out << r.err;
  }
}

}  // namespace
}  // namespace leaktrace::testing

namespace leaktrace::testing {
namespace {

// dlopen/dlclose of one plugin, over and over, beside an allocating thread:
// the program works, the dump stays readable, the module map stays small,
// and what the plugin leaked (its static slot is reused each round, so one
// block per round outlives it) is charged to the plugin's function.
TEST(Robustness, DlopenDlcloseChurn) {
  TempDir dir;
  const CommandResult r = testing::Run({ProgramPath("dlopen_churn"), LEAKTRACE_TEST_PLUGIN, "300"},
                                       {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(),
                                        "LEAKTRACE_SAMPLE=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::vector<std::string> dumps = Dumps(dir.path());
  ASSERT_EQ(dumps.size(), 1u);
  const nlohmann::json report = ReportJson(dumps[0]);
  EXPECT_EQ(GrowthThrough(report, "plugin_leak").count, 300);
  ASSERT_TRUE(report.contains("dumps"));
}

// Files planted in the dump directory under the names leaktrace will use
// are never followed: a link under the temporary name is replaced by the
// dump's own file; a link under a final name is another's dump as far as
// the process can tell, left alone, and the dump takes the next name. The
// targets stay as they were.
TEST(Robustness, PlantedSymlinksAreNeverFollowed) {
  TempDir dir, elsewhere;
  const std::string victim_temp = elsewhere.path() + "/victim-temp";
  const std::string victim_final = elsewhere.path() + "/victim-final";
  for (const std::string& v : {victim_temp, victim_final}) {
    FILE* f = fopen(v.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs("precious\n", f);
    fclose(f);
  }
  TrackedProgram p({ProgramPath("leaky_c")}, dir.path(), {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("before");
  const std::string pid = std::to_string(p.pid());
  auto stem = [&](int seq) { return "leaky_c." + pid + "." + std::to_string(seq) + ".dump"; };
  // The snapshot's temporary name, and the exit dump's final one.
  ASSERT_EQ(symlink(victim_temp.c_str(), (dir.path() + "/." + stem(1) + ".tmp").c_str()), 0);
  ASSERT_EQ(symlink(victim_final.c_str(), (dir.path() + "/" + stem(2)).c_str()), 0);
  const std::string dump = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
  EXPECT_EQ(dump, dir.path() + "/" + stem(1));
  for (const std::string& written : {dump, dir.path() + "/" + stem(3)}) {
    struct stat st;
    ASSERT_EQ(lstat(written.c_str(), &st), 0) << written;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << written << " is a file of its own, not a planted link";
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  struct stat planted;
  ASSERT_EQ(lstat((dir.path() + "/" + stem(2)).c_str(), &planted), 0);
  EXPECT_TRUE(S_ISLNK(planted.st_mode)) << "the link under a final name is left alone";
  for (const std::string& v : {victim_temp, victim_final}) {
    std::ifstream in(v);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "precious\n") << v << " was written through a planted link";
  }
}

// `leaktrace report` in a shell with a small stack limit (set there for
// the program under test): libdw's line-table parser ran the command's
// main thread off its 128 KiB stack (SIGSEGV). The command now runs on a
// thread with a stack of its own under such a limit.
TEST(Robustness, ReportUnderASmallStackLimit) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("leaky_c")}, dir, {"LEAKTRACE_SAMPLE=1"});
  ASSERT_EQ(s.exit_code, 0);
  const CommandResult r = leaktrace::testing::Run({"/bin/sh", "-c", "ulimit -s 128 && exec \"$0\" report --format json \"$1\"",
                               LEAKTRACE_TEST_CLI, s.after});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("leaky_c.c"), std::string::npos) << "frames named with their source file";
}

}  // namespace
}  // namespace leaktrace::testing
