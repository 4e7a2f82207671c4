// When leaktrace's dumper thread starts (preload/snapshot/dumper.h): not in
// a process that only runs and exits (a second thread would make every
// fork, exec and exit of a short process dearer), but before the program
// first waits in a call a signal handler would cut short, so that a
// snapshot of a program idle there goes to that thread and interrupts
// nothing; at the first tracked event once the process is 100 ms old; with
// an interval as without one (at once, the thread made a program that
// checks it is single-threaded before it sandboxes itself abort).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "format/dump.h"
#include "format/dump_reader.h"
#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

CommandResult RunLazyDumper(const std::string& wait, const std::string& sample, const std::string& dir,
                            const std::vector<std::string>& more_env = {}) {
  std::vector<std::string> env = {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_SAMPLE=" + sample,
                                  "LEAKTRACE_DIR=" + dir};
  env.insert(env.end(), more_env.begin(), more_env.end());
  return Run({ProgramPath("lazy_dumper"), wait}, env);
}

class DumperStartsBeforeAWait : public ::testing::TestWithParam<std::string> {};

TEST_P(DumperStartsBeforeAWait, NotBefore) {
  for (const std::string sample : {"64k", "1"}) {
    TempDir dir;
    const CommandResult r = RunLazyDumper(GetParam(), sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "threads 1\nthreads 2\n") << "LEAKTRACE_SAMPLE=" << sample << ", " << GetParam();
  }
}

// The waits leaktrace cannot make in slices (sliced_wait.h), in a program
// of one thread; and the ones it can, in a program that runs a thread of its
// own (glibc's one-thread shortcuts are gone already there).
INSTANTIATE_TEST_SUITE_P(EveryWaitASignalCutsShort, DumperStartsBeforeAWait,
                         ::testing::Values("sem_timedwait", "pause", "sigsuspend", "semop", "semtimedop", "msgrcv",
                                           "msgsnd", "recvmmsg", "setsockopt", "threaded:nanosleep",
                                           "threaded:clock_nanosleep", "threaded:usleep", "threaded:sleep",
                                           "threaded:poll", "threaded:ppoll", "threaded:select", "threaded:pselect",
                                           "threaded:epoll_wait", "threaded:epoll_pwait"));

// The waits it makes in slices, in a program of one thread: no thread
// starts (a snapshot asked meanwhile is looked for between slices:
// DumperStart.ASnapshotOfAProgramOfOneThreadInALongWaitCutsNothingShort).
// Before, each started it.
class DumperSlicesAWait : public ::testing::TestWithParam<std::string> {};

TEST_P(DumperSlicesAWait, AndStartsNoThread) {
  for (const std::string sample : {"64k", "1"}) {
    TempDir dir;
    const CommandResult r = RunLazyDumper(GetParam(), sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "threads 1\nthreads 1\n") << "LEAKTRACE_SAMPLE=" << sample << ", " << GetParam();
  }
}

INSTANTIATE_TEST_SUITE_P(EveryWaitItSlices, DumperSlicesAWait,
                         ::testing::Values("nanosleep", "clock_nanosleep", "clock_nanosleep_abs", "usleep", "sleep",
                                           "poll", "ppoll", "select", "pselect", "epoll_wait", "epoll_pwait"));

// The same calls made so that they cannot wait (IPC_NOWAIT, MSG_DONTWAIT
// without a timeout, a zero receive timeout, another socket option): no
// thread is due.
TEST(DumperStart, NotForACallThatCannotWait) {
  for (const std::string sample : {"64k", "1"}) {
    TempDir dir;
    const CommandResult r = RunLazyDumper("nowait", sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "threads 1\nthreads 1\n") << "LEAKTRACE_SAMPLE=" << sample;
  }
}

TEST(DumperStart, AProcessThatOnlyRunsHasNone) {
  for (const std::string sample : {"64k", "1"}) {
    TempDir dir;
    const CommandResult r = RunLazyDumper("none", sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "threads 1\nthreads 1\n") << "LEAKTRACE_SAMPLE=" << sample;
  }
}

// Once the process is 100 ms old, a tracked event starts the thread in a
// program that runs threads of its own (one that came and went is enough:
// glibc's one-thread shortcuts are gone for good), or with an interval.
TEST(DumperStart, AtATrackedEventOnceAProgramWithThreadsIsATenthOfASecondOld) {
  for (const std::string sample : {"64k", "1"}) {
    TempDir dir;
    const CommandResult r = RunLazyDumper("threadedlate", sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "threads 1\nthreads 2\n") << "LEAKTRACE_SAMPLE=" << sample;
    const CommandResult timed = RunLazyDumper("late", sample, dir.path(), {"LEAKTRACE_INTERVAL=3600"});
    EXPECT_EQ(timed.exit_code, 0) << timed.err;
    EXPECT_EQ(timed.out, "threads 1\nthreads 2\n") << "LEAKTRACE_SAMPLE=" << sample << ", an interval";
  }
}

// A program of one thread that only runs keeps it so, however long it
// runs: a second thread would cost it glibc's one-thread shortcuts (its
// stdio and malloc locks: getc 14.5 times slower, bench/RESULTS.md). Before,
// the thread started at its first tracked event once 100 ms old.
TEST(DumperStart, AProgramOfOneThreadThatOnlyRunsKeepsItsOneThread) {
  for (const std::string sample : {"64k", "1"}) {
    TempDir dir;
    const CommandResult r = RunLazyDumper("late", sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "threads 1\nthreads 1\n") << "LEAKTRACE_SAMPLE=" << sample;
  }
}

// Asked for a snapshot, such a program starts the thread at its next
// tracked event (`leaktrace snapshot` asks through the control block
// first), and the thread writes it, the allocator asked: not the signal's
// handler on the program's own thread, as a program would have had it
// without the request (the dump then says written_in_handler). Sampled
// mode: in exact mode a program whose every stack the unwind cache answers
// takes no slow path to look at the request, and the handler writes its
// first snapshot, as it did when the age of the process started the thread
// (the fast paths never looked at the age either).
TEST(DumperStart, ASnapshotOfAProgramOfOneThreadThatRunsIsWrittenByTheThread) {
  for (const std::string sample : {"512k", "64k"}) {
    TempDir dir;
    TrackedProgram p({ProgramPath("lazy_dumper"), "busy"}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("ready");
    usleep(200 * 1000);  // past its first 100 ms
    const CommandResult r = Leaktrace({"snapshot", std::to_string(p.pid())});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string path = r.out.substr(0, r.out.find('\n'));
    const format::Dump dump = format::ReadDump(path);
    EXPECT_EQ(dump.MemoryFigure("written_in_handler", 0), 0u) << "LEAKTRACE_SAMPLE=" << sample;
    EXPECT_TRUE(dump.HasMemoryFigure("allocator_free")) << "LEAKTRACE_SAMPLE=" << sample;
    EXPECT_EQ(p.RestOfOutput(), "threads 2\n") << "LEAKTRACE_SAMPLE=" << sample;
    EXPECT_EQ(p.Wait(), 0);
  }
}

// A program of one thread that waits only where no hook sees it (a raw
// nanosleep system call) and makes tracked events between its waits: the
// command asks for the thread, which starts at the next event, and signals
// it there; no sleep is cut short. (Before the request, the thread came
// from the age of the process alone; without either, the command refuses
// to signal and times out.)
TEST(DumperStart, ASnapshotOfAProgramOfOneThreadInRawWaitsGoesThroughItsThread) {
  TempDir dir;
  TrackedProgram p({ProgramPath("lazy_dumper"), "rawsleeps"}, dir.path());
  p.ExpectCheckpoint("ready");
  usleep(200 * 1000);
  for (int i = 0; i < 3; ++i) {
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "2", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  EXPECT_EQ(p.Wait(), 0) << "a raw sleep was cut short";
}

// A program of one thread idle in a long epoll_wait and then a long
// nanosleep, each made in slices: `leaktrace snapshot` asks for the thread,
// which starts between two slices, and the dump is written while neither
// wait is cut short (each returns 0 after its whole time).
TEST(DumperStart, ASnapshotOfAProgramOfOneThreadInALongWaitCutsNothingShort) {
  TempDir dir;
  TrackedProgram p({ProgramPath("lazy_dumper"), "longwaits"}, dir.path());
  p.ExpectCheckpoint("ready");
  usleep(300 * 1000);  // into its epoll_wait
  const CommandResult first = Leaktrace({"snapshot", "--timeout", "10", std::to_string(p.pid())});
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  p.ExpectCheckpoint("waited");
  usleep(300 * 1000);  // into its nanosleep, the thread running now
  const CommandResult second = Leaktrace({"snapshot", "--timeout", "10", std::to_string(p.pid())});
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(p.RestOfOutput(), "slept\n");
  EXPECT_EQ(p.Wait(), 0) << "a wait was cut short";
}

TEST(DumperStart, LazilyWithAnIntervalToo) {
  TempDir dir;
  const CommandResult none = RunLazyDumper("none", "64k", dir.path(), {"LEAKTRACE_INTERVAL=3600"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "threads 1\nthreads 1\n");
  const CommandResult waits = RunLazyDumper("nanosleep", "64k", dir.path(), {"LEAKTRACE_INTERVAL=3600"});
  EXPECT_EQ(waits.exit_code, 0) << waits.err;
  EXPECT_EQ(waits.out, "threads 1\nthreads 2\n");
}

TEST(DumperStart, NeverWithoutASnapshotSignalOrAnInterval) {
  TempDir dir;
  const CommandResult r = RunLazyDumper("nanosleep", "64k", dir.path(), {"LEAKTRACE_SIGNAL=0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "threads 1\nthreads 1\n");
}

// A program's signal handler that waits (poll), run 400 times during 0.2 s
// of malloc and free: the wait must not start the dumper thread there,
// since pthread_create allocates and the handler may have interrupted
// malloc (hung, or aborted with a corrupted heap, in 6 to 14 of 20 runs
// when it did). `timeout` ends a hung run (exit 124).
TEST(DumperStart, NeverFromAWaitInASignalHandler) {
  for (const std::string sample : {"512k", "1"}) {
    for (const std::string threads : {"0", "1"}) {
      for (int run = 0; run < 5; ++run) {
        TempDir dir;
        const CommandResult r =
            leaktrace::testing::Run({"/usr/bin/timeout", "20", ProgramPath("handler_waits"), threads},
                {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_SAMPLE=" + sample, "LEAKTRACE_DIR=" + dir.path()});
        EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ", threads " << threads << ": " << r.err;
        EXPECT_EQ(r.out, "ok\n") << "LEAKTRACE_SAMPLE=" << sample << ", threads " << threads;
      }
    }
  }
}

// `leaktrace snapshot` of a process with no dumper thread, whose one
// thread waits in a call the signal would cut short (a raw nanosleep
// system call, no hook before it; a blocking write that has moved part of
// its data, which would return the part): the command does not signal it,
// says why, and fails once its timeout is over; the program goes on as
// without leaktrace.
TEST(DumperStart, ASnapshotNeverCutsShortACallOfAProcessWithoutTheThread) {
  for (const std::string how : {"rawsleep", "bigwrite"}) {
    TempDir dir;
    TrackedProgram p({ProgramPath("lazy_dumper"), how}, dir.path());
    p.ExpectCheckpoint("ready");
    usleep(100 * 1000);  // into its call
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "0.5", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 1) << how << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("was not signalled"), std::string::npos) << how << ": " << r.err;
    if (how == "bigwrite") {
      EXPECT_EQ(p.RestOfOutput().size(), size_t{1} << 20);
    }
    EXPECT_EQ(p.Wait(), 0) << how << ": the call was cut short";
  }
}

// A process of one thread that blocks every signal and makes no tracked
// event: the signal stays pending and the command times out, saying why
// (before: "timed out" alone).
TEST(DumperStart, ASnapshotOfAProcessBlockingEverySignalSaysWhyItTimedOut) {
  TempDir dir;
  TrackedProgram p({ProgramPath("lazy_dumper"), "blocked"}, dir.path());
  p.ExpectCheckpoint("ready");
  const CommandResult r = Leaktrace({"snapshot", "--timeout", "0.5", std::to_string(p.pid())});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("every thread of it blocks signal"), std::string::npos) << r.err;
  EXPECT_EQ(p.Wait(), 0);
}

// Waits the kernel never restarts after a signal handler, made in a call
// that looks like any other from outside: a recv on a socket with a
// receive timeout (the timeout set earlier, by setsockopt), and a
// semtimedop. A snapshot taken while the program waits there, early in its
// life, must leave the wait whole: the dumper thread started before it.
TEST(DumperStart, ASnapshotNeverCutsShortAWaitTheKernelNeverRestarts) {
  for (const std::string how : {"rcvtimeo", "semwait"}) {
    TempDir dir;
    TrackedProgram p({ProgramPath("lazy_dumper"), how}, dir.path());
    p.ExpectCheckpoint("ready");
    usleep(100 * 1000);  // into its wait
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "1", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 0) << how << ": " << r.out << r.err;
    EXPECT_EQ(p.Wait(), 0) << how << ": the wait was cut short";
  }
}

// The same process given time to end: it exits with no safe moment to
// signal it, and the dump the command then finds is the exit dump. The
// command prints its path and says on stderr that it is the exit dump
// (before: the path alone, as if a snapshot had been taken).
TEST(DumperStart, ASnapshotThatEndsInTheExitDumpSaysSo) {
  TempDir dir;
  TrackedProgram p({ProgramPath("lazy_dumper"), "rawsleep"}, dir.path());
  p.ExpectCheckpoint("ready");
  usleep(100 * 1000);  // into its 2 s sleep
  const CommandResult r = Leaktrace({"snapshot", "--timeout", "20", std::to_string(p.pid())});
  EXPECT_EQ(p.Wait(), 0) << "the sleep was cut short";
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string path = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(path.rfind(dir.path(), 0), 0u) << r.out;
  EXPECT_NE(r.err.find("exited before it took the snapshot; " + path + " is its exit dump"), std::string::npos)
      << r.err;
}

// A thread that /proc shows "running" may be inside a call: here a
// blocking write that copies 256 KiB into a pipe, about half of the time
// ("pipewrites"); and a writer starved of CPU ("starvedwrites"), which
// /proc shows "running" for long stretches while it waits for a CPU inside
// its write. Snapshots taken while the process has no dumper thread (the
// command then picks a program thread) must never cut one short: the
// command signals a running thread only once it has seen it run, and never
// sleep, over 20 ms (before: 45 of ~55 snapshots cut a pipewrites write
// short; looks at "running" alone cut 8-9 of the starved writer's writes
// short in 5 of 5 runs). Those it cannot take (exit 1) leave the program
// alone.
TEST(DumperStart, ASnapshotNeverCutsShortACallOfARunningThread) {
  for (const std::string how : {"pipewrites", "starvedwrites"}) {
    TempDir dir;
    TrackedProgram p({ProgramPath("lazy_dumper"), how}, dir.path());
    p.ExpectCheckpoint("ready");
    // Up to 10 snapshots in its first 1.5 s of 3 (a sanitized command is slower).
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    for (int i = 0; i < 10 && std::chrono::steady_clock::now() < until; ++i) {
      const CommandResult r = Leaktrace({"snapshot", "--timeout", "0.1", std::to_string(p.pid())});
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << how << ": " << r.err;
    }
    EXPECT_EQ(p.Wait(), 0) << how << ": a write was cut short: " << p.RestOfOutput();
  }
}

// A snapshot that the handler writes on the thread it interrupted (no
// dumper thread yet, a thread busy in its own code) writes it on a stack of
// leaktrace's own: a thread made with a 16 KiB stack crashed (the writer
// takes ~30 KiB), and a coroutine on a 16 KiB stack the program allocated
// had the memory below that stack overwritten.
TEST(DumperStart, ASnapshotWrittenInTheHandlerFitsASmallStack) {
  for (const std::string how : {"thread", "coroutine"}) {
    TempDir dir;
    TrackedProgram p({ProgramPath("small_stack"), how}, dir.path());
    p.ExpectCheckpoint("ready");
    usleep(50 * 1000);
    const CommandResult r = Leaktrace({"snapshot", "--timeout", "2", std::to_string(p.pid())});
    EXPECT_EQ(r.exit_code, 0) << how << ": " << r.out << r.err;
    EXPECT_EQ(p.Wait(), 0) << how;
    const std::string dump = r.out.substr(0, r.out.find('\n'));
    ASSERT_FALSE(dump.empty()) << how;
    const CommandResult report = Leaktrace({"report", dump});
    EXPECT_EQ(report.exit_code, 0) << how << ": " << report.err;
  }
}

}  // namespace
}  // namespace leaktrace::testing
