// The program under leaktrace behaves exactly as without it: its descriptor
// numbers stay its own whatever it closes or dup2s (leaktrace's and
// libunwind's descriptors are private: preload/internal/private_fds.h), and a snapshot
// interrupts none of its calls even after it closed every descriptor.
#include <elf.h>
#include <gtest/gtest.h>

#include <chrono>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

// Each sampling setting the tests run in: default-like sampling that still
// samples the 256 KiB blocks of fd_takeover most of the time, and exact.
const std::vector<std::string> kModes = {"64k", "1"};

CommandResult RunUnder(const std::vector<std::string>& argv, const std::string& sample, const std::string& dir,
                       const std::string& on_exit = "1") {
  return leaktrace::testing::Run(argv, {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_SAMPLE=" + sample,
                                        "LEAKTRACE_DIR=" + dir, "LEAKTRACE_ON_EXIT=" + on_exit});
}

class ServerClosingEveryDescriptor : public ::testing::TestWithParam<std::string> {};

TEST_P(ServerClosingEveryDescriptor, KeepsItsSocketAndFile) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("fd_takeover"), "server", GetParam()}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n");
  }
}

INSTANTIATE_TEST_SUITE_P(EveryWayToClose, ServerClosingEveryDescriptor, ::testing::Values("closefrom", "loop", "close_range", "listed"));

TEST(FdTakeover, Dup2OntoEveryNumberLeavesEachOneTheProgramsFile) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("fd_takeover"), "dup2"}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n");
  }
}

TEST(FdTakeover, AShellReadingFd3ReadsEveryLine) {
  TempDir dir;
  const std::string input = dir.path() + "/lines.txt";
  {
    std::ofstream f(input);
    for (int i = 0; i < 300; ++i) f << "line " << i << " of the file bash reads through fd 3\n";
  }
  // Each $(...) forks a subshell; every line goes through fd 3. Every
  // subshell also writes its exit dump (LEAKTRACE_ON_EXIT=all; by default
  // young fork children write none), through leaktrace's own descriptors.
  const std::vector<std::string> script = {
      "/bin/bash", "-c",
      "exec 3<" + input + "; n=0; while read -u 3 l; do x=$(echo \"$l\"); n=$((n+1)); done; echo \"$n $x\""};
  const CommandResult plain = leaktrace::testing::Run(script);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(plain.out, "300 line 299 of the file bash reads through fd 3\n");
  for (const std::string& sample : kModes) {
    const CommandResult tracked = RunUnder(script, sample, dir.path(), "all");
    EXPECT_EQ(tracked.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << tracked.err;
    EXPECT_EQ(tracked.out, plain.out) << "LEAKTRACE_SAMPLE=" << sample;
  }
}

TEST(FdTakeover, ASnapshotAfterClosefromInterruptsNoCall) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    TrackedProgram p({ProgramPath("fd_takeover"), "sleep"}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("sleeping");
    const std::string dump = p.Snapshot();
    EXPECT_TRUE(std::filesystem::exists(dump)) << dump;
    EXPECT_EQ(p.Wait(), 0) << "the program's nanosleep was cut short (LEAKTRACE_SAMPLE=" << sample << ")";
    // The exit dump arrives as well.
    int dumps = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps += e.path().extension() == ".dump";
    EXPECT_EQ(dumps, 2) << "LEAKTRACE_SAMPLE=" << sample;
  }
}

// A vfork child runs on the parent's memory, leaktrace's tables included,
// but has a descriptor table of its own: its dup2 onto the number of one of
// leaktrace's descriptors replaces the child's copy only. Had the child's
// call moved "ours" away, the parent's tables would name numbers that are
// not leaktrace's in the parent: libunwind's pipe unprotected, the control
// block's memfd lost.
TEST(FdTakeover, AVforkChildsDup2LeavesTheParentsDescriptorsAlone) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("fd_takeover"), "vfork", "server", "closefrom"}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n");
  }
  for (const std::string& sample : kModes) {
    TempDir dir;
    TrackedProgram p({ProgramPath("fd_takeover"), "vfork", "sleep"}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("sleeping");
    const std::string dump = p.Snapshot();
    EXPECT_TRUE(std::filesystem::exists(dump)) << dump;
    EXPECT_EQ(p.Wait(), 0) << "the program's nanosleep was cut short (LEAKTRACE_SAMPLE=" << sample << ")";
  }
}

// ---- the snapshot signal is the program's whenever it wants it -------------

TEST(SignalOwnership, AProgramTakingSigusr2ForItselfGetsIt) {
  for (const char* how : {"signalfd", "sigwait", "handler", "blockfirst"}) {
    for (const std::string& sample : kModes) {
      TempDir dir;
      for (int run = 0; run < 5; ++run) {
        const CommandResult r = RunUnder({ProgramPath("signal_owner"), how}, sample, dir.path());
        EXPECT_EQ(r.exit_code, 0) << how << ", LEAKTRACE_SAMPLE=" << sample << ", run " << run << ": " << r.err;
      }
    }
  }
}

// A program that takes SIGUSR2 for itself writes to stderr what it writes
// without leaktrace: every interactive bash, every tmux command and xargs -P
// install their own handler, and each printed a line about where snapshots
// moved. With LEAKTRACE_VERBOSE=1 (as `leaktrace run` sets) the line is said.
TEST(SignalOwnership, TakingSigusr2AddsNothingToTheProgramsStderr) {
  // By a handler, or read from a signalfd or by sigtimedwait (a daemon's
  // event loop): leaktrace moves to another signal without a word, unless
  // LEAKTRACE_VERBOSE asks for one.
  const std::pair<std::string, std::string> ways[] = {
      {"handler", "the program installs its own handler for signal 12"},
      {"signalfd", "the program takes signal 12 for itself (reads it with signalfd or sigwait)"},
      {"sigwait", "the program takes signal 12 for itself (reads it with signalfd or sigwait)"}};
  for (const auto& [way, said] : ways) {
    SCOPED_TRACE(way);
    const CommandResult plain = leaktrace::testing::Run({ProgramPath("signal_owner"), way});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    for (const std::string& sample : kModes) {
      TempDir dir;
      const CommandResult r = RunUnder({ProgramPath("signal_owner"), way}, sample, dir.path());
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.err, plain.err) << "LEAKTRACE_SAMPLE=" << sample;
    }
    TempDir dir;
    const CommandResult verbose = leaktrace::testing::Run(
        {ProgramPath("signal_owner"), way},
        {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_VERBOSE=1"});
    EXPECT_EQ(verbose.exit_code, 0) << verbose.err;
    EXPECT_NE(verbose.err.find(said), std::string::npos) << verbose.err;
  }
}

// glibc's user and group lookups through systemd (getpwnam of a name not in
// /etc/passwd, initgroups: nginx's workers, any daemon dropping privileges)
// block twelve signals, SIGUSR2 among them, around each lookup. That is not
// the program taking SIGUSR2: `kill -USR2` afterwards still asks for a
// snapshot. (Taken for a claim, leaktrace stepped
// aside: the kill then ended the program, as SIGUSR2 does by default.)
// Nor is a block held by a thread that has ended since ("threadended": its
// block was counted on, and the kill ended the program).
TEST(SignalOwnership, ABlockNoLongerHeldIsNoClaim) {
  for (const char* how : {"lookup", "threadended"}) {
    for (const std::string& sample : kModes) {
      SCOPED_TRACE(how);
      TempDir dir;
      TrackedProgram p({ProgramPath("signal_owner"), how}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
      p.ExpectCheckpoint("sleeping");
      ASSERT_EQ(kill(p.pid(), SIGUSR2), 0);
      bool dumped = false;
      for (int i = 0; i < 500 && !dumped; ++i) {
        for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumped |= e.path().extension() == ".dump";
        if (!dumped) usleep(10000);
      }
      EXPECT_TRUE(dumped) << "no snapshot after kill -USR2 (LEAKTRACE_SAMPLE=" << sample << ")";
      p.ExpectCheckpoint("woke");
      EXPECT_EQ(p.Wait(), 0) << "LEAKTRACE_SAMPLE=" << sample;
    }
  }
}

// `leaktrace snapshot` of a process whose dumper thread has not started
// (it starts lazily: a program that only reads its stdin so far) while a
// worker holds SIGUSR2 blocked among a few signals: the signal goes to one
// thread that does not block it, so the library knows it for its own and
// takes the snapshot. (Sent to the whole process, it was taken for the
// program's own kill and handed back: SIGUSR2's default action ended the
// program, exit 140, and no dump.)
TEST(SignalOwnership, ASnapshotBeforeTheDumperThreadStartsIsNeverHandedBack) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    TrackedProgram p({ProgramPath("signal_owner"), "blockedworker"}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("ready");
    const std::string dump = p.Snapshot();
    EXPECT_TRUE(std::filesystem::exists(dump)) << "LEAKTRACE_SAMPLE=" << sample << ": " << dump;
    p.Continue();
    EXPECT_EQ(p.Wait(), 0) << "LEAKTRACE_SAMPLE=" << sample;
  }
}

// The same block held across a fork: the child's only thread holds it, and
// a SIGUSR2 sent to the child meanwhile is the child's (its default action
// ends it, as without leaktrace), not a snapshot. The child has no dumper
// thread yet to take the signal at once: it is delivered as the child puts
// its mask back. (The child's count started from 0, and a release was
// counted before the mask call: the child took a snapshot and lived on.)
TEST(SignalOwnership, ABlockHeldAcrossAForkStaysTheChilds) {
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("signal_owner"), "forkblocked"});
  ASSERT_EQ(plain.exit_code, 0) << plain.out << plain.err;
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("signal_owner"), "forkblocked"}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.out << r.err;
    EXPECT_EQ(r.out, plain.out) << "LEAKTRACE_SAMPLE=" << sample;
  }
}

TEST(SignalOwnership, TheProgramSeesTheDispositionItWouldWithoutLeaktrace) {
  TempDir dir;
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("signal_owner"), "query"});
  ASSERT_EQ(plain.out, "SIG_DFL\n");
  EXPECT_EQ(RunUnder({ProgramPath("signal_owner"), "query"}, "64k", dir.path()).out, plain.out);
  // A probe (SIG_DFL set, what was found put back: bash's `trap -p` does
  // this) says nothing, and snapshots by signal stay on, interrupting nothing.
  TrackedProgram p({ProgramPath("signal_owner"), "probe"}, dir.path());
  p.ExpectCheckpoint("sleeping");
  EXPECT_TRUE(std::filesystem::exists(p.Snapshot()));
  p.ExpectCheckpoint("woke");
  EXPECT_EQ(p.Wait(), 0);
}

// A program with its own SIGUSR2 handler (nginx's master) keeps it, and
// `leaktrace snapshot` still reaches it: snapshots move to a free real-time
// signal that the control block names, sent to the dumper thread alone. The
// program's handler never runs and its nanosleep is not cut short.
TEST(SignalOwnership, AProgramOwningSigusr2CanStillBeSnapshot) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    TrackedProgram p({ProgramPath("signal_owner"), "serve"}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("ready");
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "20", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(r.out.substr(0, r.out.find('\n')))) << r.out;
    EXPECT_EQ(p.Wait(), 0) << "1: the program's sleep was cut short, 3: its SIGUSR2 handler ran (LEAKTRACE_SAMPLE="
                           << sample << ")";
  }
}

// A program that handles SIGUSR2 and every real-time signal as well (every
// Go runtime does) leaves leaktrace no snapshot signal, and so does
// LEAKTRACE_SIGNAL=0: `leaktrace snapshot` asks through the process's
// control block instead (format/control_block.h, kSnapshotWantedLine) and
// sends no signal. One thread sleeping in one nanosleep (asked between the
// sleep's slices: it must not be cut short), or with a busy thread beside
// it. Before, the command gave up (exit 2, "takes no snapshot signal").
TEST(SignalOwnership, AProcessWithNoSnapshotSignalIsSnapshotThroughItsControlBlock) {
  struct Case {
    const char* busy;
    const char* setting;
  };
  for (const std::string& sample : kModes) {
    for (const Case c : {Case{"", ""}, Case{"busy", ""}, Case{"", "LEAKTRACE_SIGNAL=0"}}) {
      SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample + " " + c.busy + " " + c.setting);
      TempDir dir;
      std::vector<std::string> env = {"LEAKTRACE_SAMPLE=" + sample};
      if (*c.setting != '\0') env.push_back(c.setting);
      std::vector<std::string> argv = {ProgramPath("signal_owner"), "serveall", "3"};
      if (*c.busy != '\0') argv.push_back(c.busy);
      TrackedProgram p(argv, dir.path(), env);
      p.ExpectCheckpoint("ready");
      const CommandResult r = Leaktrace({"snapshot", "--timeout", "20", std::to_string(p.pid())});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_TRUE(std::filesystem::exists(r.out.substr(0, r.out.find('\n')))) << r.out;
      EXPECT_EQ(p.Wait(), 0) << "1: the program's sleep was cut short, 3: its handler ran";
    }
  }
}

// unshare(CLONE_NEWUSER) needs a single-threaded process: the dumper thread
// steps out of the way for the call.
// A program that checks it is single-threaded before it sandboxes itself
// (chromium's zygote) found leaktrace's dumper thread there when
// LEAKTRACE_INTERVAL was set (started at once, and in every fork child), and
// aborted (exit 134). The thread starts lazily with an interval too.
TEST(Transparency, AnIntervalLeavesAStartingProgramSingleThreaded) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = leaktrace::testing::Run(
        {ProgramPath("single_threaded")}, {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_SAMPLE=" + sample,
                                           "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_INTERVAL=1"});
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.out << r.err;
    EXPECT_EQ(r.out, "threads 1 child 1\n") << "LEAKTRACE_SAMPLE=" << sample;
  }
}

// A program of one thread waits in sleeps, poll, select and epoll_wait
// longer than a slice: leaktrace makes those waits in slices rather than
// start its thread (sliced_wait.h), and the program sees the waits it asked
// for: results, errno, the time left as each call reports it, select's
// sets and timeout, never a wait shorter than asked. Before, the thread
// started at the first wait (threads 2).
TEST(Transparency, AProgramOfOneThreadWaitsAsItAskedAndKeepsItsOneThread) {
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("sliced_waits")});
  ASSERT_EQ(plain.exit_code, 0) << plain.out << plain.err;
  ASSERT_NE(plain.out.find("threads 1\n"), std::string::npos) << plain.out;
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = leaktrace::testing::Run(
        {ProgramPath("sliced_waits")},
        {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_SAMPLE=" + sample, "LEAKTRACE_DIR=" + dir.path()});
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.out << r.err;
    EXPECT_EQ(r.out, plain.out) << "LEAKTRACE_SAMPLE=" << sample;
  }
}

// `unshare --pid --fork CMD`: the unshare process may start no thread once
// its children go into the new pid namespace, and said "cannot start the
// dumper thread (error 22)" on stderr when its lazy start came, though
// nothing was asked of it. Now its thread starts before the unshare, and
// a snapshot of it is still written.
TEST(Transparency, APidNamespaceForChildrenSaysNothing) {
  const CommandResult plain = leaktrace::testing::Run({"/usr/bin/unshare", "--pid", "--fork", "/bin/true"});
  if (plain.exit_code != 0) GTEST_SKIP() << "unshare --pid is not allowed here: " << plain.err;
  for (const std::string& sample : kModes) {
    TempDir dir;
    const std::string err = dir.path() + "/stderr";
    TrackedProgram p({"/bin/sh", "-c", "exec /usr/bin/unshare --pid --fork /bin/sleep 1 2>\"$0\"", err},
                     dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    usleep(500 * 1000);  // past the unshare, the child sleeping
    const std::string dump = p.Snapshot();
    EXPECT_NE(dump.find("/unshare." + std::to_string(p.pid()) + "."), std::string::npos) << dump;
    EXPECT_EQ(p.Wait(), 0);
    std::ifstream in(err);
    const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(said, "") << "LEAKTRACE_SAMPLE=" << sample;
  }
}

TEST(Transparency, UnshareIntoAUserNamespaceWorks) {
  const std::vector<std::string> argv = {"/usr/bin/unshare", "--user", "--map-root-user", "/usr/bin/id", "-u"};
  if (access(argv[0].c_str(), X_OK) != 0) GTEST_SKIP() << "no unshare(1)";
  const CommandResult plain = leaktrace::testing::Run(argv);
  if (plain.exit_code != 0) GTEST_SKIP() << "user namespaces are not allowed here: " << plain.err;
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult tracked = RunUnder(argv, sample, dir.path());
    EXPECT_EQ(tracked.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << tracked.err;
    EXPECT_EQ(tracked.out, plain.out);
  }
}

// A child sharing the program's memory (clone with CLONE_VM, as stress-ng's
// clone stressor makes them) that unshares into a user namespace: it has
// no dumper thread of its own to wait for, yet it read the parent's and
// waited 100 ms at every call for a thread that was not its own to go
// (stress-ng --clone: 8.7x fewer clones in the same time). Ten calls take
// a few milliseconds without leaktrace; the bound, half a second, is a
// twentieth of what they took.
TEST(Transparency, AChildSharingTheProgramsMemoryUnsharesAtOnce) {
  const std::vector<std::string> argv = {ProgramPath("shared_memory_child"), "10"};
  for (const std::string& sample : kModes) {
    TempDir dir;
    // An interval starts the dumper thread at once: the parent has one.
    const CommandResult r = leaktrace::testing::Run(
        argv, {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_SAMPLE=" + sample, "LEAKTRACE_DIR=" + dir.path(),
               "LEAKTRACE_INTERVAL=3600", "LEAKTRACE_ON_EXIT=0"});
    ASSERT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("ms ([0-9.]+)"))) << r.out;
    EXPECT_LT(std::stod(m[1]), 500.0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.out;
  }
}

// LEAKTRACE_FOLLOW_EXEC=0 under a program with its own setenv/unsetenv
// (bash builds its children's environment from its own copy).
TEST(Transparency, FollowExecOffWorksUnderBash) {
  TempDir dir;
  const CommandResult r = leaktrace::testing::Run(
      {"/bin/bash", "-c", "/bin/true; /bin/true; echo \"[$LD_PRELOAD]\""},
      {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_FOLLOW_EXEC=0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[]\n");
  std::vector<std::string> dumps;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps.push_back(e.path().filename().string());
  ASSERT_EQ(dumps.size(), 1u) << "only bash itself is tracked";
  EXPECT_EQ(dumps[0].rfind("bash.", 0), 0u) << dumps[0];
}

// Under a small descriptor limit the program's numbering is unchanged too.
TEST(Transparency, ASmallDescriptorLimitKeepsTheProgramsNumbers) {
  for (const char* limit : {"16", "40", "64", "100"}) {
    const std::vector<std::string> argv = {"/bin/bash", "-c",
                                           std::string("ulimit -n ") + limit + "; exec " + ProgramPath("fd_takeover") + " server closefrom"};
    for (const std::string& sample : kModes) {
      TempDir dir;
      const CommandResult r = RunUnder(argv, sample, dir.path());
      EXPECT_EQ(r.exit_code, 0) << "ulimit -n " << limit << ", LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    }
  }
}

// libunwind's checks of addresses off the thread's stack are a
// process_vm_readv of the process itself (record/unwinder_fds.cc), which a
// filter the process inherited may kill for (a systemd unit's
// SystemCallFilter= need not list it): there a real pipe does them. Unwinds
// through a coroutine's stack (small_stack coroutine) need such checks
// (strace: 4 process_vm_readv in exact mode without the filter); killed by
// SIGSYS before.
TEST(Transparency, AnInheritedFilterWithoutProcessVmReadvIsNeverMet) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder(
        {ProgramPath("seccomp_sandbox"), "noreadv", ProgramPath("small_stack"), "coroutine"}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "ready\n") << "LEAKTRACE_SAMPLE=" << sample;
  }
}

// Under a descriptor limit below 64 every number is the program's: bash
// opens files until the limit refuses one, and gets as many as plainly.
// Before, leaktrace's control memfd and spare eventfd took two of them
// (with `ulimit -n 4`, `cat FILE` failed: "Too many open files"), and
// libunwind's validation pipe two more once a check needed it; the pipe is
// now pretended (record/unwinder_fds.cc), the other two are not made.
TEST(Transparency, UnderATightDescriptorLimitEveryNumberIsTheProgramsOwn) {
  if (access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "needs bash";
  // Counts the files it opens before EMFILE; the loop's own allocations and
  // `cat` (a new process under the library) run meanwhile.
  const std::string script =
      "ulimit -n $0; cat /proc/self/stat > /dev/null || exit 3; n=0; "
      "while eval \"exec {fd}</dev/null\" 2>/dev/null; do n=$((n+1)); [ $n -gt 100 ] && break; done; echo $n";
  for (const char* limit : {"5", "8", "16", "40"}) {
    const CommandResult plain = leaktrace::testing::Run({"/bin/bash", "-c", script, limit});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    for (const std::string& sample : kModes) {
      TempDir dir;
      const CommandResult r = RunUnder({"/bin/bash", "-c", script, limit}, sample, dir.path());
      EXPECT_EQ(r.exit_code, 0) << "ulimit -n " << limit << ", LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
      EXPECT_EQ(r.out, plain.out) << "ulimit -n " << limit << ", LEAKTRACE_SAMPLE=" << sample
                                  << ": files opened under leaktrace, against plainly";
    }
  }
}

// Under such a limit the library keeps no control block, and `leaktrace
// snapshot` goes by the process's environment: it signalled the process as
// a whole, and so refused a process sleeping (the signal would cut the
// sleep short), although its dumper thread ran ("it has no leaktrace
// dumper thread yet", exit 1 after the timeout, 2 s more). Now it finds the
// thread by name and signals it there, at once.
TEST(Transparency, UnderATightDescriptorLimitASleepingProcessIsSnapshot) {
  TempDir dir;
  TrackedProgram p({"/bin/sh", "-c", "ulimit -n 32 && exec /bin/sleep 20"}, dir.path());
  std::string comm;
  for (int i = 0; i < 300 && comm.find("sleep") == std::string::npos; ++i) {
    usleep(10 * 1000);
    std::ifstream("/proc/" + std::to_string(p.pid()) + "/comm") >> comm;
  }
  ASSERT_EQ(comm, "sleep");
  usleep(100 * 1000);  // in its sleep, its dumper thread started before it
  const auto asked = std::chrono::steady_clock::now();
  const CommandResult r = Leaktrace({"snapshot", "--timeout", "5", std::to_string(p.pid())});
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(took, 1.9) << "waited for a control block that cannot come";
  EXPECT_NE(r.out.find("/sleep." + std::to_string(p.pid()) + ".1.dump"), std::string::npos) << r.out;
  kill(p.pid(), SIGTERM);
  p.Wait();
}

// `leaktrace snapshot PID` right after the program started, before its
// library is up, must wait for it, not send a signal nobody handles yet
// (SIGUSR2's default action kills: redis-server died so). A program that
// has the library preloaded but is left out (LEAKTRACE_PROGRAMS) never
// handles it: the command refuses (exit 2) and the program runs on.
TEST(Transparency, ASnapshotNeverKillsAProgramThatCannotTakeItYet) {
  TempDir dir;
  {
    TrackedProgram p({"/bin/sleep", "2"}, dir.path());
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "30", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(p.Wait(), 0);
  }
  {
    TrackedProgram p({"/bin/sleep", "3"}, dir.path(), {"LEAKTRACE_PROGRAMS=not-this-one"});
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "30", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("leaktrace is not tracking it"), std::string::npos) << r.err;
    EXPECT_EQ(p.Wait(), 0);  // not 128 + SIGUSR2
  }
}

// A program with a SIGUSR2 handler of its own that the library does not
// track: its LD_PRELOAD names the library but the library never loaded (a
// setuid or file-capability program, whose loader ignores LD_PRELOAD:
// squid's helpers; here a path that does not exist), or it loaded and was
// left out (LEAKTRACE_PROGRAMS). The command refuses (exit 2) and never
// signals it. Before, the environment alone sent the signal, and the
// program's handler ran (squid toggles its debug log; nginx upgrades).
TEST(Transparency, ASnapshotNeverSignalsAProgramTheLibraryDoesNotTrack) {
  TempDir dir;
  {
    // env(1) execs the program in its own process, with that LD_PRELOAD alone.
    TrackedProgram p({"/usr/bin/env", "LD_PRELOAD=" + dir.path() + "/missing/libleaktrace.so",
                      "LEAKTRACE_DIR=" + dir.path(), ProgramPath("signal_owner"), "serve", "6"},
                     dir.path(), {}, /*preload=*/false);
    p.ExpectCheckpoint("ready");
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "5", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("the library is not loaded"), std::string::npos) << r.err;
    EXPECT_EQ(p.Wait(), 0) << "1: the program's sleep was cut short, 3: its SIGUSR2 handler ran";
  }
  {
    TrackedProgram p({ProgramPath("signal_owner"), "serve", "6"}, dir.path(), {"LEAKTRACE_PROGRAMS=not-this-one"});
    p.ExpectCheckpoint("ready");
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "5", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("leaktrace is not tracking it"), std::string::npos) << r.err;
    EXPECT_EQ(p.Wait(), 0) << "left out: 1: the program's sleep was cut short, 3: its SIGUSR2 handler ran";
  }
}

// A program that locks itself into a seccomp sandbox whose filter kills the
// process on any system call it does not list (OpenSSH's pre-auth child, a
// browser's renderer) ends as it would without leaktrace: leaktrace writes
// no snapshot from inside the sandbox (the exit dump's openat would have it
// killed by SIGSYS, 128 + 31). libseccomp's probe (a NULL filter, EFAULT)
// installs nothing and leaves the exit dump alone. Nor does the recording
// make a call of its own there: the filter lists only what the program
// calls (the unwinder's mincore on the main stack and libunwind's set-up are
// done before the filter goes in; a descriptor opened by a relative path is
// named without getcwd or readlink: killed before, 159).
// errno is the program's: a call that succeeds leaves it as the program set
// it, whatever leaktrace did inside (the first unwind's validation pipe read
// failed EAGAIN and left errno at 11 after the first malloc in exact mode,
// or the first sample in sampled mode).
TEST(Transparency, ACallThatSucceedsLeavesErrnoAlone) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("errno_kept")}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.out << r.err;
    EXPECT_EQ(r.out, "kept\n") << "LEAKTRACE_SAMPLE=" << sample;
  }
}

TEST(Transparency, AProgramInASeccompSandboxEndsAsWithoutLeaktrace) {
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("seccomp_sandbox"), "prctl"});
  if (plain.exit_code != 5) GTEST_SKIP() << "seccomp filters are not allowed here: " << plain.exit_code << " " << plain.err;
  for (const char* how : {"prctl", "tsync"}) {
    for (const std::string& sample : kModes) {
      TempDir dir;
      const CommandResult r = RunUnder({ProgramPath("seccomp_sandbox"), how}, sample, dir.path());
      EXPECT_EQ(r.exit_code, 5) << how << ", LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
      EXPECT_EQ(r.out, plain.out) << how << ", LEAKTRACE_SAMPLE=" << sample;
      EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << how << ": nothing is written from the sandbox";
    }
  }
  {
    // Asked for a snapshot meanwhile, it fails at once, saying why (and
    // sends no signal the program would have to take).
    TempDir dir;
    TrackedProgram p({ProgramPath("seccomp_sandbox"), "wait"}, dir.path());
    p.ExpectCheckpoint("sandboxed");
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "30", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("seccomp sandbox"), std::string::npos) << r.err;
    p.Continue();
    EXPECT_EQ(p.Wait(), 5);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  }
  {
    // The same in a fork child with no descriptor allowed, as OpenSSH's
    // pre-authentication child: it lets its parent's control block go at
    // the sandbox and can make none of its own, and the command tells it
    // from the outside (before: "not tracking it ... left out by
    // LEAKTRACE_PROGRAMS").
    TempDir dir;
    TrackedProgram p({ProgramPath("seccomp_sandbox"), "nofile"}, dir.path());
    p.ExpectCheckpoint("sandboxed");
    std::ifstream children("/proc/" + std::to_string(p.pid()) + "/task/" + std::to_string(p.pid()) + "/children");
    pid_t child = 0;
    ASSERT_TRUE(children >> child) << "the sandboxed child of " << p.pid();
    const auto asked = std::chrono::steady_clock::now();
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "30", std::to_string(child)});
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("takes no snapshots: it is in a seccomp sandbox"), std::string::npos) << r.err;
    // Not after the 2 s the command gives a process's library to start
    // (before: 2.0 s every time; now about 0.2 s).
    EXPECT_LT(took, 1.9) << "the answer waited for a library start that cannot come";
    p.Continue();
    EXPECT_EQ(p.Wait(), 5);
    // The parent's exit dump only.
    for (const auto& f : std::filesystem::directory_iterator(dir.path()))
      EXPECT_EQ(f.path().filename().string().find("." + std::to_string(child) + "."), std::string::npos) << f.path();
  }
  {
    // A sandbox inherited across exec, which the new program's library did
    // not see go in (man-db runs col so): no exit dump is tried, so the
    // program's stderr stays its own (before: "leaktrace: cannot write
    // snapshot 1 (... Function not implemented)").
    const CommandResult plain_exec = leaktrace::testing::Run({ProgramPath("seccomp_sandbox"), "exec"});
    ASSERT_EQ(plain_exec.exit_code, 5) << plain_exec.err;
    for (const std::string& sample : kModes) {
      TempDir dir;
      const CommandResult r = RunUnder({ProgramPath("seccomp_sandbox"), "exec"}, sample, dir.path());
      EXPECT_EQ(r.exit_code, 5) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
      EXPECT_EQ(r.out, plain_exec.out) << "LEAKTRACE_SAMPLE=" << sample;
      EXPECT_EQ(r.err, "") << "LEAKTRACE_SAMPLE=" << sample;
    }
  }
  TempDir dir;
  const CommandResult probe = RunUnder({ProgramPath("seccomp_sandbox"), "probe"}, "64k", dir.path());
  EXPECT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(probe.out, "probe -1 EFAULT\n");
  int dumps = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps += e.path().extension() == ".dump";
  EXPECT_EQ(dumps, 1) << "a probe is no sandbox: the exit dump is written";
}

// Under the program's mlockall(MCL_CURRENT | MCL_FUTURE), every mapping made
// afterwards is locked and made resident as it is made: leaktrace's 32 MiB
// age table, a reservation mostly never touched, became 32 MiB of locked
// memory (VmLck 35.6 -> 71.7 MiB for a small program with four threads).
// What leaktrace adds must stay what it uses.
TEST(Transparency, MlockallLocksNoneOfLeaktracesReservations) {
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("mlock_all")});
  if (plain.exit_code == 77) GTEST_SKIP() << "this process may not lock its memory";
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const long plain_kb = std::stol(plain.out);
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("mlock_all")}, sample, dir.path());
    ASSERT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    const long tracked_kb = std::stol(r.out);
    EXPECT_LT(tracked_kb - plain_kb, 16 * 1024) << "LEAKTRACE_SAMPLE=" << sample << ": locked " << tracked_kb
                                                << " kB against " << plain_kb << " kB without leaktrace";
  }
}

// A program that unmaps a region of its own page by page and maps every
// page back at its old address (stress-ng --mmap) must find each one free,
// as it does without leaktrace: meanwhile the mapping table grew (every
// munmap splits a mapping), and the kernel used to put leaktrace's new
// memory in the holes (251 of 16,384 pages taken in default mode, 355 in
// exact), where the program's MAP_FIXED then overwrote leaktrace's tables
// (SIGSEGV in about half the runs). leaktrace's own mappings now go to a
// zone of their own (format/raw_mmap.h).
TEST(Transparency, LeaktracesMemoryNeverLandsWhereTheProgramUnmapped) {
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("mapping_holes"), "64"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(plain.out, "taken 0 of 16384\n");
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("mapping_holes"), "64"}, sample, dir.path());
    ASSERT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "taken 0 of 16384\n") << "LEAKTRACE_SAMPLE=" << sample;
  }
}

// bash, before `exec N>file`, probes N with fcntl(F_GETFD); finding it open
// it saved a copy and later put that copy back over its own file. On
// leaktrace's numbers (parked at 992 and up under the default 1,024
// descriptors: the control block, the spare) the file stayed empty and the
// script's output went into leaktrace's descriptor. Every number must take
// the script's redirection as it does without leaktrace.
TEST(Transparency, AShellRedirectionOntoLeaktracesNumbersIsTheShells) {
  if (access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "needs bash";
  TempDir files;
  const std::string script =
      "ulimit -n 1024; for n in $(seq 985 1000); do eval \"exec $n>\\\"$0/f$n\\\"\"; eval \"echo $n >&$n\"; "
      "eval \"exec $n>&-\"; done";
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({"/bin/bash", "-c", script, files.path()}, sample, dir.path());
    ASSERT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    for (int n = 985; n <= 1000; ++n) {
      std::ifstream f(files.path() + "/f" + std::to_string(n));
      std::string line;
      std::getline(f, line);
      EXPECT_EQ(line, std::to_string(n)) << "LEAKTRACE_SAMPLE=" << sample << ": what bash wrote through " << n;
    }
  }
}

// libunwind blocks every signal around each frame it looks up; leaktrace
// blocks them once around a whole walk instead and answers libunwind's own
// requests inside it (preload/internal/signals_blocked.h). The program's
// mask must be its own after every allocation, and its own request to block
// every signal must really block them.
// libfaketime beside the library, in either order: it defines
// clock_gettime (and getrandom, getpid, the timed waits) and fakes the
// clocks, monotonic too. leaktrace read its clocks through it: its
// interval deadlines followed a monotonic clock set years ahead (no
// interval snapshot, ever), and a hook of leaktrace's that read the clock
// while libfaketime was starting up made it print four lines of recursion
// warnings on the program's stderr. leaktrace now reads the kernel's
// clocks itself, and the dumps carry the real time.
TEST(Transparency, AFakedClockIsTheProgramsAlone) {
  const std::string faketime = LEAKTRACE_TEST_FAKETIME;
  for (const std::string& preload : {LibraryPath() + ":" + faketime, faketime + ":" + LibraryPath()}) {
    SCOPED_TRACE(preload);
    TempDir dir;
    const CommandResult r =
        leaktrace::testing::Run({"/bin/sleep", "2.6"}, {"LD_PRELOAD=" + preload, "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_INTERVAL=1",
                                    "FAKETIME=@2020-01-01 00:00:00"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "") << "the program's stderr";
    std::vector<std::string> dumps;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps.push_back(e.path().string());
    EXPECT_GE(dumps.size(), 2u) << "interval snapshots, then the exit dump";
    for (const std::string& dump : dumps) {
      const CommandResult report = Leaktrace({"report", "--format", "json", dump});
      ASSERT_EQ(report.exit_code, 0) << report.err;
      const double written_s = nlohmann::json::parse(report.out)["dumps"][0]["snapshot_realtime_ns"].get<double>() / 1e9;
      EXPECT_GT(written_s, 1.7e9) << dump << ": a dump dated by the faked clock (2020 is 1.58e9)";
    }
  }
}

// cwrap's uid_wrapper (Samba's and SSSD's test suites preload it) ahead of
// the library: it defines syscall(3) and takes its mutex there, and its
// destructor holds that mutex while it calls dlclose. The dlclose hook
// mapped memory through syscall(3), into uid_wrapper's, onto its held
// mutex: every program hung at exit. leaktrace's own system calls no
// longer go through the symbol. The program runs with a deadline: the
// hang would otherwise hold the suite.
TEST(Transparency, AnInterposerOfSyscallAheadLetsTheProgramEnd) {
  TempDir dir;
  const std::string preload = std::string("LD_PRELOAD=") + LEAKTRACE_TEST_UID_WRAPPER + ":" + LibraryPath();
  const std::string leaktrace_dir = "LEAKTRACE_DIR=" + dir.path();
  char* const argv[] = {const_cast<char*>("/usr/bin/id"), const_cast<char*>("-u"), nullptr};
  std::vector<std::string> env_s = {preload, leaktrace_dir, "UID_WRAPPER=1", "UID_WRAPPER_ROOT=1"};
  for (char** e = environ; *e != nullptr; ++e)
    if (strncmp(*e, "LD_PRELOAD=", 11) != 0) env_s.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv, envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 1000 && done == 0; ++i) {
    done = waitpid(pid, &status, WNOHANG);
    if (done == 0) usleep(10 * 1000);
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  EXPECT_EQ(done, pid) << "id -u still running after 10 s: hung at its exit";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// `leaktrace run` made every process of the run say "leaktrace: tracking
// NAME ..." on its own stderr (LEAKTRACE_VERBOSE=1): a script capturing a
// command's stderr read it (`v=$(cmd 2>&1)`, a version probe, fakechroot's
// self-test, which then aborted). Now run sets LEAKTRACE_VERBOSE=first: the
// program it starts says it, on the run's stderr; what it runs does not.
// LEAKTRACE_VERBOSE=1 still makes every process say it.
TEST(Transparency, UnderRunOnlyTheProgramItStartsSaysItIsTracked) {
  const std::string script = "x=$(ls /nonexistent-file 2>&1); echo \"$x\"";
  for (const std::string verbose : {"", "1"}) {
    SCOPED_TRACE("LEAKTRACE_VERBOSE=" + verbose);
    TempDir dir;
    std::vector<std::string> env;
    if (!verbose.empty()) env.push_back("LEAKTRACE_VERBOSE=" + verbose);
    const CommandResult r =
        leaktrace::testing::Run({LEAKTRACE_TEST_CLI, "run", "-o", dir.path(), "--", "/bin/sh", "-c", script}, env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("leaktrace: tracking sh (pid "), std::string::npos) << r.err;
    const bool child_said = r.out.find("leaktrace: tracking ls") != std::string::npos;
    EXPECT_EQ(child_said, verbose == "1") << r.out;
    EXPECT_NE(r.out.find("ls: cannot access '/nonexistent-file'"), std::string::npos) << r.out;
  }
}

// libfakechroot (debootstrap's and mmdebstrap's fakechroot mode) wraps
// dl_iterate_phdr and dladdr; under its chroot step (FAKECHROOT_BASE set
// and empty) its wrappers, reached from leaktrace's constructor before
// libfakechroot had started, crashed every program, in either order
// (SIGSEGV before main). leaktrace calls the C library's own now, and
// writes its dumps by system calls of its own, where libfakechroot would
// move their paths.
TEST(Transparency, AWrapperOfTheLoadersListStartingLaterIsNeverCalledEarly) {
  const std::string fakechroot = LEAKTRACE_TEST_FAKECHROOT;
  for (const std::string& preload : {fakechroot + ":" + LibraryPath(), LibraryPath() + ":" + fakechroot}) {
    SCOPED_TRACE(preload);
    TempDir dir;
    const CommandResult r = leaktrace::testing::Run(
        {"/bin/echo", "hi"},
        {"LD_PRELOAD=" + preload, "LEAKTRACE_DIR=" + dir.path(), "FAKECHROOT=true", "FAKECHROOT_BASE="});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "hi\n");
    EXPECT_EQ(r.err, "");
    EXPECT_FALSE(std::filesystem::is_empty(dir.path())) << "its exit dump";
  }
}

TEST(Transparency, TheProgramsSignalMaskIsItsOwn) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("signal_mask_kept")}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n");
  }
}

// A thread's first recorded allocation learns its stack bounds with
// pthread_getattr_np. When that allocation is made inside the program's own
// pthread_getattr_np on the thread (a JVM's threads start so), glibc holds
// the thread's lock: asking again waited for it forever (`java -version`
// hung in exact mode). At a 16-byte mean the CPU set glibc allocates there
// is sampled nearly always.
TEST(Transparency, AThreadAskingForItsOwnStackFirstDoesNotHang) {
  for (const std::string& sample : {std::string("16"), std::string("1")}) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("own_stack_query")}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n");
  }
}

// Every library leaktrace needs is loaded into every process started under
// it, and each costs that process's start (issue #12: libm alone was about
// 80 us, libunwind.so.8 with its liblzma.so.5 about as much again). A C
// program that links libc only shows, under the library, what the library
// brings: nothing but libc (libunwind is linked in, scripts/build-unwinder.sh;
// no libm, no C++ runtime). ld.so lists the objects it would load without
// running the program (what ldd does).
TEST(Transparency, TheLibraryBringsOnlyLibcIntoAProcess) {
  const CommandResult r = leaktrace::testing::Run({"/bin/true"}, {"LD_PRELOAD=" + LibraryPath(), "LD_TRACE_LOADED_OBJECTS=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> loaded;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string path;
    words >> path;
    if (path.empty()) continue;
    loaded.insert(path.substr(path.rfind('/') + 1));
  }
  const std::string self = LibraryPath().substr(LibraryPath().rfind('/') + 1);
  const std::set<std::string> expected = {"linux-vdso.so.1", "ld-linux-x86-64.so.2", "libc.so.6", self};
  EXPECT_EQ(loaded, expected) << r.out;
}

// Where the program's own mappings land is the kernel's choice, and a
// preloaded library can move them: a file mapping of 2 MiB or more is placed
// at a 2 MiB boundary (the kernel aligns it for transparent huge pages; seen
// on Linux 6.18 with ext4), and every mapping made after it then lies at a
// fixed offset from one. With the library's .bss at 2.3 MiB (its 1 MiB
// bootstrap heap among it), a program that callocs a 64 MiB block, writes
// its first bytes and frees it ran 2x slower than plain, in the kernel's
// TLB flush at the munmap, leaktrace's own work aside (`calloc_big 2000 64
// head`, bench/RESULTS.md). So the library, code, data and .bss together,
// spans less than 2 MiB: what would not fit is mapped when first used.
TEST(Transparency, TheLibrarySpansLessThanTwoMiB) {
  std::ifstream file(LibraryPath(), std::ios::binary);
  ASSERT_TRUE(file) << LibraryPath();
  Elf64_Ehdr header{};
  ASSERT_TRUE(file.read(reinterpret_cast<char*>(&header), sizeof header));
  ASSERT_EQ(std::memcmp(header.e_ident, ELFMAG, SELFMAG), 0);
  uint64_t low = UINT64_MAX, high = 0;
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    file.seekg(static_cast<std::streamoff>(header.e_phoff + i * header.e_phentsize));
    ASSERT_TRUE(file.read(reinterpret_cast<char*>(&segment), sizeof segment));
    if (segment.p_type != PT_LOAD) continue;
    low = std::min<uint64_t>(low, segment.p_vaddr & ~uint64_t{4095});
    high = std::max<uint64_t>(high, segment.p_vaddr + segment.p_memsz);
  }
  ASSERT_LT(low, high) << "no loadable segment";
  EXPECT_LT(high - low, uint64_t{2} << 20) << "the loaded library spans " << (high - low) << " bytes";
}

// The libunwind linked in stays inside the library: none of its functions
// (unw_*, the _Unwind_* exception ABI, the weak `backtrace` alias) nor the
// wrappers its descriptor calls are renamed to is exported, where it would
// take the place of the program's own (libgcc_s's _Unwind_RaiseException,
// glibc's backtrace).
TEST(Transparency, TheLibraryExportsNothingOfItsUnwinder) {
  const CommandResult r = leaktrace::testing::Run({"/usr/bin/nm", "-D", "--defined-only", LibraryPath()}, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  int exported = 0;
  for (std::string line; std::getline(lines, line);) {
    const std::string name = line.substr(line.rfind(' ') + 1);
    ++exported;
    for (const char* prefix : {"unw_", "_U", "backtrace", "leaktrace_unwinder_"})
      EXPECT_NE(name.rfind(prefix, 0), 0u) << name << " is exported";
  }
  EXPECT_GT(exported, 50) << r.out;  // the hooks are there: nm read the right table
}

// Programs built with a sanitizer whose runtime is a library of its own
// (gcc's -fsanitize=thread and =address). ThreadSanitizer's start-up
// allocates (its dlsym's error messages) before its interceptors work, and
// leaktrace, starting at that first allocation, called its getcwd and strcpy:
// null pointers then, SIGSEGV before main, every run (ASan the same under
// verify_asan_link_order=0, its way to let another library come first).
// Then ThreadSanitizer stopped the program at leaktrace's memory, outside
// its map of where memory may lie (exit 66). With libasan first in
// LD_PRELOAD (the order ASan asks for), leaktrace started inside ASan's
// preinit function, before the C library had set the environment: every
// LEAKTRACE_* setting read as unset, the dump written to the working
// directory. leaktrace now starts at its constructor beside a sanitizer's
// runtime or before the environment is set.
TEST(Transparency, AProgramBuiltWithASanitizerRunsAsWithout) {
  const std::string asan = "/usr/lib/x86_64-linux-gnu/libasan.so.8";
  struct Case {
    std::string program, preload, options;
  };
  std::vector<Case> cases = {
      {"sanitized_thread", LibraryPath(), ""},
      {"sanitized_address", LibraryPath(), "ASAN_OPTIONS=verify_asan_link_order=0"},
  };
  if (access(asan.c_str(), R_OK) == 0) cases.push_back({"sanitized_address", asan + ":" + LibraryPath(), ""});
  for (const Case& c : cases) {
    for (const std::string sample : {"512k", "1"}) {
      SCOPED_TRACE(c.program + " LD_PRELOAD=" + c.preload + " LEAKTRACE_SAMPLE=" + sample);
      TempDir dir, cwd;
      std::vector<std::string> env = {"LD_PRELOAD=" + c.preload, "LEAKTRACE_DIR=" + dir.path(),
                                      "LEAKTRACE_SAMPLE=" + sample, "LEAKTRACE_VERBOSE=0"};
      if (!c.options.empty()) env.push_back(c.options);
      const CommandResult r = leaktrace::testing::Run(
          {"/bin/sh", "-c", "cd \"$1\" && exec \"$0\"", ProgramPath(c.program), cwd.path()}, env);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, "kept 40\n");
      EXPECT_TRUE(std::filesystem::is_empty(cwd.path())) << "a dump in the working directory: LEAKTRACE_DIR unread";
      std::vector<std::string> dumps;
      for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps.push_back(e.path().string());
      ASSERT_EQ(dumps.size(), 1u) << r.err;
      if (c.preload == LibraryPath() && sample == "1") {
        // leaktrace's malloc comes first: the kept blocks are counted (and
        // stdout's buffer, which printf allocates in main too).
        const CommandResult report = Leaktrace({"report", "--format", "json", dumps[0]});
        ASSERT_EQ(report.exit_code, 0) << report.err;
        const double through_main = GrowthThrough(nlohmann::json::parse(report.out), "main").count;
        EXPECT_GE(through_main, 40) << r.err;
        EXPECT_LE(through_main, 41) << r.err;
      }
    }
  }
}

// Started with stderr closed (a daemon's `2>&-`), a program's next file
// gets descriptor 2; leaktrace's lines (the start line, "the program takes
// SIGUSR2 for itself") went into that file. They go to descriptor 2 only
// while it is the file it was at start-up.
TEST(Transparency, LeaktracesLinesNeverGoIntoAFileThatTookTheClosedStderr) {
  for (const std::string sample : {"512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    const std::string data = dir.path() + "/data.txt";
    const CommandResult r = leaktrace::testing::Run(
        {"/bin/sh", "-c", "exec \"$0\" \"$1\" 2>&-", ProgramPath("stderr_taken"), data},
        {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_VERBOSE=1",
         "LEAKTRACE_SAMPLE=" + sample});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(data);
    const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "program data\n");
  }
}

}  // namespace
}  // namespace leaktrace::testing
