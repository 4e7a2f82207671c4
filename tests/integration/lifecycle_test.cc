// The library's life in a process: exit and interval snapshots, fork, bad
// settings, unwritable directories, file modes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "format/dump_reader.h"
#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

CommandResult RunTracked(const std::vector<std::string>& argv, const std::string& dir,
                         std::vector<std::string> env = {}) {
  env.push_back("LD_PRELOAD=" + LibraryPath());
  env.push_back("LEAKTRACE_DIR=" + dir);
  return Run(argv, env);
}

// A dump's report (leaktrace report --format json), and the descriptors it
// holds open from fd_exhaust's exhaust_descriptors().
nlohmann::json ReportJson(const std::string& dump) {
  const CommandResult report = Leaktrace({"report", "--format", "json", dump});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  return nlohmann::json::parse(report.out);
}

double DescriptorsFromExhaust(const nlohmann::json& report) {
  double descriptors = 0;
  for (const auto& site : report["sites"]) {
    if (site["resource"] != "fd") continue;
    for (const auto& frame : site["frames"])
      if (frame.value("function", "") == "exhaust_descriptors") {
        descriptors += site["count"].get<double>();
        break;
      }
  }
  return descriptors;
}

// LEAKTRACE_ON_EXIT=all: the child exits young, and would write none by
// default (YoungForkChildrenWriteNoExitDump).
TEST(Lifecycle, ExitSnapshotIsWrittenPrivatelyAndAtomically) {
  TempDir dir;
  const CommandResult r =
      RunTracked({ProgramPath("forker")}, dir.path(), {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> files = FilesIn(dir.path());
  ASSERT_EQ(files.size(), 2u) << "one exit dump each from parent and child";
  for (const std::string& f : files) {
    EXPECT_TRUE(std::regex_match(f, std::regex(R"(forker\.[0-9]+\.1\.dump)"))) << f;
    struct stat st;
    ASSERT_EQ(stat((dir.path() + "/" + f).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
}

// The executable's path is read at the first dump, not at start (a process
// that writes none never opens /proc), and the arguments come from the
// constructor's argv: the dump still names the file the process was started
// from, even when it was deleted meanwhile (its /proc link then says
// "(deleted)"), and the arguments exactly, empty ones included.
TEST(Lifecycle, TheDumpNamesTheExecutableItStartedFromAndItsArguments) {
  TempDir dir, bin;
  const std::string shell = bin.path() + "/own-sh";
  fs::copy_file("/bin/bash", shell);  // bash, not dash: dash ends with _exit, which writes no exit dump
  // Two commands: the shell forks rm (which writes a dump of its own) and
  // writes its exit dump after its executable is gone.
  const std::string script = "rm -f " + shell + "; exit 0";
  const CommandResult r = RunTracked({shell, "-c", script, "arg zero", "", "last"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(fs::exists(shell));
  int found = 0;
  for (const std::string& f : FilesIn(dir.path())) {
    if (f.rfind("own-sh.", 0) != 0) continue;
    ++found;
    const format::Dump dump = format::ReadDump(dir.path() + "/" + f);
    EXPECT_EQ(dump.process.program, "own-sh");
    EXPECT_EQ(dump.process.exe_path, shell);
    EXPECT_EQ(dump.process.argv, (std::vector<std::string>{shell, "-c", script, "arg zero", "", "last"}));
    int main_programs = 0;
    for (const format::Module& m : dump.modules) {
      if ((m.flags & format::kModuleMainProgram) == 0) continue;
      ++main_programs;
      EXPECT_EQ(m.path, shell);
    }
    EXPECT_EQ(main_programs, 1);
  }
  EXPECT_EQ(found, 1) << "the shell's exit dump";
}

// A dump of the same name is another process's (this pid's earlier owner,
// the image that exec'd this one, a process of another pid namespace
// writing to the same directory) and is never replaced: the count goes on
// past it. Before, the rename put the new dump over it.
TEST(Lifecycle, ADumpOfTheSameNameIsNeverReplaced) {
  TempDir dir;
  // The shell writes a file under the name the program's first dump will
  // have (exec keeps the pid), then becomes the program.
  const std::string script = "echo earlier > " + dir.path() + "/errno_kept.$$.1.dump; echo $$; exec env LD_PRELOAD=" +
                             LibraryPath() + " LEAKTRACE_DIR=" + dir.path() + " " + ProgramPath("errno_kept");
  const CommandResult r = leaktrace::testing::Run({"/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string pid = r.out.substr(0, r.out.find('\n'));
  std::ifstream earlier(dir.path() + "/errno_kept." + pid + ".1.dump");
  std::string line;
  std::getline(earlier, line);
  EXPECT_EQ(line, "earlier");
  const std::string dump = dir.path() + "/errno_kept." + pid + ".2.dump";
  ASSERT_TRUE(fs::exists(dump)) << "files: " << ::testing::PrintToString(FilesIn(dir.path()));
  EXPECT_EQ(format::ReadDump(dump).process.seq, 2u);
}

// GrowthAt in what one dump holds (`leaktrace report --format json DUMP`).
Growth LiveIn(const std::string& dump, const std::string& function, const std::string& module_suffix) {
  const CommandResult r = Leaktrace({"report", "--format", "json", dump});
  EXPECT_EQ(r.exit_code, 0) << dump << ": " << r.err;
  return r.exit_code == 0 ? GrowthAt(nlohmann::json::parse(r.out), function, module_suffix) : Growth{};
}

TEST(Lifecycle, ForkChildTracksOnItsOwnAndWritesItsOwnDump) {
  TempDir dir;
  const CommandResult r =
      RunTracked({ProgramPath("forker")}, dir.path(), {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(parent ([0-9]+) child ([0-9]+))"))) << r.out;
  const std::string child_dump = dir.path() + "/forker." + m[2].str() + ".1.dump";
  const std::string parent_dump = dir.path() + "/forker." + m[1].str() + ".1.dump";
  ASSERT_TRUE(fs::exists(child_dump));
  ASSERT_TRUE(fs::exists(parent_dump));

  const Growth leak = LiveIn(child_dump, "child_leak", "forker");
  EXPECT_EQ(leak.count, 7);
  EXPECT_EQ(leak.bytes, 7 * 1000);
  EXPECT_EQ(LiveIn(parent_dump, "child_leak", "forker").count, 0) << "the child's leak shows in the parent";
}

// A child made by the clone system call itself ran no fork handler; its
// exit dump was named with its parent's pid and collided with the parent's
// ("cannot link ...: File exists" on stderr, its leak lost), or took
// the name and left the parent's lost. Now each writes its own.
TEST(Lifecycle, AChildOfARawCloneWritesItsOwnExitDump) {
  TempDir dir;
  const CommandResult r = RunTracked({ProgramPath("raw_clone")}, dir.path(), {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("leaktrace:"), std::string::npos) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(child ([0-9]+) parent ([0-9]+))"))) << r.out;
  const std::string child_dump = dir.path() + "/raw_clone." + m[1].str() + ".1.dump";
  const std::string parent_dump = dir.path() + "/raw_clone." + m[2].str() + ".1.dump";
  ASSERT_TRUE(fs::exists(child_dump)) << ::testing::PrintToString(FilesIn(dir.path()));
  ASSERT_TRUE(fs::exists(parent_dump)) << ::testing::PrintToString(FilesIn(dir.path()));
  EXPECT_EQ(format::ReadDump(child_dump).process.pid, std::stoul(m[1].str()));
  EXPECT_EQ(format::ReadDump(parent_dump).process.pid, std::stoul(m[2].str()));

  EXPECT_GT(LiveIn(child_dump, "leak_in_clone_child", "raw_clone").bytes, 15 << 20);
  EXPECT_EQ(LiveIn(parent_dump, "leak_in_clone_child", "raw_clone").count, 0) << "the child's leak shows in the parent";
}

// The same child asked for a snapshot while it runs. It took itself for
// its parent: before the parent's dumper thread started, the child's
// handler wrote the child's heap under the parent's name (raw_clone.PARENT.2
// holding the child's leak) and `leaktrace snapshot` waited on; after, the
// request went to a dumper thread the child does not have, and the command
// timed out. Now the child becomes the fork child the handlers would have
// made, at the signal, and writes its own dump.
class RawCloneChildSnapshot : public ::testing::TestWithParam<bool> {};

TEST_P(RawCloneChildSnapshot, IsTheChildsOwn) {
  const bool parent_thread_started = GetParam();
  TempDir dir;
  std::vector<std::string> argv = {ProgramPath("raw_clone"), "running"};
  if (parent_thread_started) argv.push_back("waited");
  TrackedProgram p(argv, dir.path());
  p.ExpectCheckpoint("child");
  std::string child;
  std::ifstream(fs::path("/proc") / std::to_string(p.pid()) / "task" / std::to_string(p.pid()) / "children") >> child;
  ASSERT_FALSE(child.empty());
  int parent_threads = 0;
  for ([[maybe_unused]] const auto& t : fs::directory_iterator("/proc/" + std::to_string(p.pid()) + "/task"))
    ++parent_threads;
  EXPECT_EQ(parent_threads, parent_thread_started ? 2 : 1) << "the parent's dumper thread";

  const CommandResult snap = Leaktrace({"snapshot", "--timeout", "10", child});
  EXPECT_EQ(snap.exit_code, 0) << snap.err;
  const std::string dump = dir.path() + "/raw_clone." + child + ".1.dump";
  EXPECT_EQ(snap.out, dump + "\n") << snap.err;
  EXPECT_EQ(FilesIn(dir.path()), std::vector<std::string>{"raw_clone." + child + ".1.dump"})
      << "a dump under another name";
  if (fs::exists(dump)) {
    EXPECT_EQ(format::ReadDump(dump).process.pid, std::stoul(child));
    EXPECT_GT(LiveIn(dump, "leak_in_clone_child", "raw_clone").bytes, 15 << 20);
  }
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(ParentsDumperThread, RawCloneChildSnapshot, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Started") : std::string("NotYetStarted");
                         });

// The exit dump is written on the thread that calls exit(), whose stack may
// be small: a worker made with a 16 KiB stack, a main thread under
// `ulimit -s 32`. The writer takes ~30 KiB: both ended in SIGSEGV (exit
// 139) where plain they exit 0. Now the dump is written on leaktrace's own
// stack, and the thread's stack is still the one counted as a thread stack.
TEST(Lifecycle, AnExitOnASmallStackWritesItsDump) {
  for (const std::string sample : {"512k", "1"}) {
    for (const std::string how : {"exit", "main"}) {
      SCOPED_TRACE(how + ", LEAKTRACE_SAMPLE=" + sample);
      TempDir dir;
      const std::string program = ProgramPath("small_stack");
      const CommandResult r =
          how == "main" ? RunTracked({"/bin/sh", "-c", "ulimit -s 32 && exec \"$0\" main", program}, dir.path(),
                                     {"LEAKTRACE_SAMPLE=" + sample})
                        : RunTracked({program, how}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      std::vector<std::string> dumps;
      for (const std::string& f : FilesIn(dir.path()))
        if (f.rfind("small_stack.", 0) == 0) dumps.push_back(dir.path() + "/" + f);
      ASSERT_EQ(dumps.size(), 1u) << "its exit dump";
      const nlohmann::json report = ReportJson(dumps[0]);
      // The writing thread's own stack is found (not the writer stack it
      // ran on); "exit"'s main thread may still be running, unlocated.
      const nlohmann::json& memory = report["memory"];
      EXPECT_GT(memory["thread_stacks"].get<double>(), 0) << memory.dump();
      EXPECT_LT(memory["threads_unlocated"].get<double>(), memory["threads"].get<double>()) << memory.dump();
      if (how == "main") EXPECT_EQ(memory["threads_unlocated"].get<double>(), 0) << memory.dump();
    }
  }
}

// A program at its address-space limit that goes on running: the dump's
// buffer cannot be mapped. The writer read its unmapped buffer (SIGSEGV in
// DumpWriter::EndSection) and killed the program, at a snapshot and at its
// exit dump. Now that snapshot fails, saying why, and the program runs on;
// once its limit is lifted, snapshots work.
TEST(Lifecycle, AProgramAtItsAddressSpaceLimitOutlivesItsSnapshot) {
  for (const std::string sample : {"512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    TrackedProgram p({ProgramPath("address_space_full")}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("full");
    const CommandResult full = Leaktrace({"snapshot", "--timeout", "10", std::to_string(p.pid())});
    EXPECT_EQ(full.exit_code, 1) << full.out << full.err;
    EXPECT_NE(full.err.find("out of memory"), std::string::npos) << full.err;
    p.Continue();
    p.ExpectCheckpoint("freed");
    const std::string after = p.Snapshot();
    EXPECT_EQ(ReportJson(after)["summary"].is_object(), true);
    p.Continue();
    EXPECT_EQ(p.Wait(), 0);
  }
}

// A child sharing the parent's memory that ends by exit() (a vfork or
// CLONE_VM child that should have called _exit) runs the library's exit
// on the parent's state: it stopped the parent's dumper thread there, and
// the parent could not be snapshot any more. Now it touches nothing.
TEST(Lifecycle, AChildSharingTheParentsMemoryLeavesItsStateAlone) {
  TempDir dir;
  TrackedProgram p({ProgramPath("raw_clone"), "vm"}, dir.path());
  p.ExpectCheckpoint("before");
  const std::string before = p.Snapshot();  // its dumper thread starts
  p.Continue();
  p.ExpectCheckpoint("after");
  const CommandResult after = Leaktrace({"snapshot", "--timeout", "10", std::to_string(p.pid())});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(after.out, before + "\n");
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
}

// A dump whose name another process takes between the library's look and
// its link (the same pid in another pid namespace writing to the same
// directory: concurrent `unshare --pid --fork` or bwrap runs lost dumps so,
// with "cannot link ...: File exists") takes the next seq, in its name and
// inside it. The race is made certain with a dangling symlink under the
// name: access() finds nothing there, the link finds the name taken.
TEST(Lifecycle, ADumpWhoseNameIsTakenMeanwhileTakesTheNextSeq) {
  TempDir dir;
  TrackedProgram p({ProgramPath("leaky_c")}, dir.path());
  p.ExpectCheckpoint("before");
  const std::string taken = dir.path() + "/leaky_c." + std::to_string(p.pid()) + ".1.dump";
  ASSERT_EQ(symlink((dir.path() + "/nowhere").c_str(), taken.c_str()), 0);
  const std::string dump = p.Snapshot();
  EXPECT_EQ(dump, dir.path() + "/leaky_c." + std::to_string(p.pid()) + ".2.dump");
  EXPECT_EQ(format::ReadDump(dump).process.seq, 2u);  // the checksum holds too
  p.Continue();
  p.ExpectCheckpoint("after");
  EXPECT_EQ(format::ReadDump(p.Snapshot()).process.seq, 3u);
  p.Continue();
  p.Wait();
}

TEST(Lifecycle, IntervalSnapshotsComeOnTheirOwn) {
  TempDir dir;
  const CommandResult r = RunTracked({LEAKTRACE_TEST_SERVICE, "--seconds", "3", "--rate", "2000"}, dir.path(),
                                     {"LEAKTRACE_INTERVAL=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> files = FilesIn(dir.path());
  ASSERT_GE(files.size(), 3u) << "at least two interval dumps and the exit dump";
  for (const std::string& f : files) {
    const CommandResult report = Leaktrace({"report", "--format", "json", dir.path() + "/" + f});
    EXPECT_EQ(report.exit_code, 0) << f << ": " << report.err;
  }
}

TEST(Lifecycle, OnExitZeroWritesNothing) {
  TempDir dir;
  const CommandResult r = RunTracked({ProgramPath("leaky_c")}, dir.path(), {"LEAKTRACE_ON_EXIT=0"});
  // leaky_c exits 3 when its stdin closes at the first checkpoint: it ran.
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(FilesIn(dir.path()).empty());
}

TEST(Lifecycle, MalformedSettingIsReportedAndLeavesTheProgramAlone) {
  // SIGCHLD would write a dump at every child's exit: not a snapshot signal.
  for (const std::string setting : {"LEAKTRACE_SAMPLE=lots", "LEAKTRACE_SIGNAL=SIGNOPE", "LEAKTRACE_SIGNAL=SIGCHLD",
                                    "LEAKTRACE_INTERVAL=-4", "LEAKTRACE_ON_EXIT=yes"}) {
    TempDir dir;
    const CommandResult r = RunTracked({ProgramPath("forker")}, dir.path(), {setting});
    EXPECT_EQ(r.exit_code, 0) << setting;
    EXPECT_NE(r.err.find("leaktrace: " + setting.substr(0, setting.find('='))), std::string::npos)
        << setting << " gave: " << r.err;
    EXPECT_TRUE(FilesIn(dir.path()).empty()) << setting;
  }
}

TEST(Lifecycle, UnwritableDirectoryWarnsOnceAndTheProgramRunsOn) {
  const CommandResult r = RunTracked({ProgramPath("forker")}, "/nonexistent/leaktrace-dumps", {"LEAKTRACE_ON_EXIT=all"});
  EXPECT_EQ(r.exit_code, 0);
  // Parent and child each say it once: their exit dumps, lost with them.
  size_t warnings = 0;
  for (size_t at = r.err.find("cannot write the exit dump"); at != std::string::npos;
       at = r.err.find("cannot write the exit dump", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 2u) << r.err;
  EXPECT_EQ(r.err.find("can still fetch"), std::string::npos) << r.err;
}

// A directory in `dir` that only root may write (0700): the dump directory
// of a process that then drops to nobody.
std::string RootOnlyDirectoryIn(const TempDir& dir) {
  const std::string path = dir.path() + "/root-only";
  fs::create_directory(path);
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace);
  return path;
}

// A process that dropped privileges cannot create its exit dump in its
// root-owned directory, and nothing can fetch a dump from a process that is
// gone: its line says the dump is lost and what to do, where it used to
// say that `leaktrace snapshot PID` could still fetch it.
TEST(Lifecycle, AnExitDumpThatCannotBeWrittenIsSaidLost) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the program drops from root to nobody";
  TempDir dir;
  const std::string dumps = RootOnlyDirectoryIn(dir);
  // Two lines on stdin: past both checkpoints.
  const CommandResult r =
      leaktrace::testing::Run({"/bin/sh", "-c", "printf '\\n\\n' | \"$0\"", ProgramPath("drop_privileges")},
                              {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dumps});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("leaktrace: cannot write the exit dump (cannot create " + dumps), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("it is lost: give LEAKTRACE_DIR a directory the process can write"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("can still fetch"), std::string::npos) << r.err;
  EXPECT_TRUE(FilesIn(dumps).empty());
}

// A dump is never in the directory under any name until it is whole, and
// then only under its final one: no temporary file is made that a process
// killed while writing (the OOM killer, during a big dump) would leave
// behind. Every name created in the directory, watched with inotify while
// a process writes a snapshot and its exit dump, is a final dump name.
TEST(Lifecycle, ADumpAppearsOnlyWholeUnderItsFinalName) {
  TempDir dir;
  const int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(inotify_add_watch(watch, dir.path().c_str(), IN_CREATE | IN_MOVED_TO), 0);
  Snapshots s = RunBetweenCheckpoints({ProgramPath("leaky_c")}, dir, {"LEAKTRACE_SAMPLE=1"});
  EXPECT_EQ(s.exit_code, 0);
  std::vector<std::string> created;
  alignas(inotify_event) char events[64 * 1024];
  for (ssize_t n; (n = read(watch, events, sizeof events)) > 0;) {
    for (char* at = events; at < events + n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(at);
      if (e->len > 0) created.emplace_back(e->name);
      at += sizeof(inotify_event) + e->len;
    }
  }
  close(watch);
  ASSERT_EQ(created.size(), 3u) << "a snapshot before, one after, the exit dump";
  for (const std::string& name : created) {
    EXPECT_NE(name[0], '.') << name << ": a temporary name";
    EXPECT_TRUE(name.size() > 5 && name.compare(name.size() - 5, 5, ".dump") == 0) << name;
  }
  EXPECT_EQ(FilesIn(dir.path()), std::vector<std::string>(created.begin(), created.end()));
}

TEST(Lifecycle, ASnapshotTheProcessCannotWriteFailsAtOnceWithItsReason) {
  TempDir dir;
  const std::string dumps = dir.path() + "/dumps";
  fs::create_directory(dumps);
  TrackedProgram p({ProgramPath("leaky_c")}, dumps);
  p.ExpectCheckpoint("before");
  fs::remove(dumps);  // the dump directory is gone: the process cannot write there
  // A generous timeout: the command must not wait it out, it must come back
  // with the process's own reason.
  const CommandResult r = Leaktrace({"snapshot", "--timeout", "60", std::to_string(p.pid())});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("process " + std::to_string(p.pid()) + " cannot write its dump to " + dumps + ": cannot create " +
                       dumps + "/"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  // Once the directory is back, snapshots work again.
  fs::create_directory(dumps);
  EXPECT_TRUE(fs::exists(p.Snapshot()));
  p.Continue();
  p.ExpectCheckpoint("after");
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
}

// A process out of descriptors (the fd leak leaktrace is there to find) can
// create neither its dump file nor a memfd: the dump waits in its control
// block's memfd, after the block, and `leaktrace snapshot` writes it.
// A process that cannot answer now is named as such: a stopped one (SIGSTOP,
// a debugger) by the snapshot's timeout and by attach, a zombie by both at
// once (before: a bare timeout, "no thread was waiting in a system call",
// "cannot read /proc/PID/environ: No such process").
TEST(Lifecycle, ASnapshotOrAttachOfAStoppedOrExitedProcessSaysWhy) {
  TempDir dir;
  {
    TrackedProgram p({"/bin/sleep", "30"}, dir.path());
    ASSERT_EQ(Leaktrace({"snapshot", std::to_string(p.pid())}).exit_code, 0);  // its library is up
    ASSERT_EQ(kill(p.pid(), SIGSTOP), 0);
    const CommandResult snap = Leaktrace({"snapshot", "--timeout", "1", std::to_string(p.pid())});
    EXPECT_EQ(snap.exit_code, 1) << snap.err;
    EXPECT_NE(snap.err.find("is stopped (SIGSTOP, or a debugger holds it)"), std::string::npos) << snap.err;
    const CommandResult attach = Leaktrace({"attach", std::to_string(p.pid())});
    EXPECT_EQ(attach.exit_code, 2) << attach.err;
    EXPECT_NE(attach.err.find("is stopped"), std::string::npos) << attach.err;
    kill(p.pid(), SIGCONT);
    kill(p.pid(), SIGTERM);
    p.Wait();
  }
  const pid_t zombie = fork();
  ASSERT_GE(zombie, 0);
  if (zombie == 0) _exit(0);
  for (int i = 0; i < 200; ++i) {  // until the kernel shows it as a zombie
    siginfo_t info = {};
    if (waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == zombie) break;
    usleep(10000);
  }
  for (const char* command : {"snapshot", "attach"}) {
    const CommandResult r = Leaktrace({command, std::to_string(zombie)});
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find("has exited (a zombie its parent has not reaped yet)"), std::string::npos) << command << ": " << r.err;
  }
  waitpid(zombie, nullptr, 0);
}

// Under a limit on processes, leaktrace's dumper thread held one of the
// user's task slots: a program making threads until refused got one fewer
// than plainly (7 of 8 with ulimit -u 10), and one forking children until
// refused one child fewer (10 of 11). Refused, the program's
// pthread_create or fork now gets the slot back from the dumper thread.
TEST(Lifecycle, UnderALimitOnProcessesTheProgramGetsEveryThreadAndChild) {
  if (geteuid() != 0) GTEST_SKIP() << "drops from root to another user";
  for (const std::vector<std::string> argv : {std::vector<std::string>{ProgramPath("thread_limit")},
                                              std::vector<std::string>{ProgramPath("thread_limit"), "fork"}}) {
    const CommandResult plain = leaktrace::testing::Run(argv, {});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    for (const std::string sample : {"512k", "1"}) {
      TempDir dir;
      fs::permissions(dir.path(), fs::perms::all, fs::perm_options::replace);  // that user writes its exit dump here
      const CommandResult r = RunTracked(argv, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, plain.out) << argv.back() << " LEAKTRACE_SAMPLE=" << sample;
      EXPECT_EQ(r.err, "");
    }
  }
}

// A privilege drop that keeps one capability on the calling thread alone
// (PR_SET_KEEPCAPS, then capset: setpriv's and libcap-ng's way), then
// initgroups: glibc ran its setgroups on leaktrace's dumper thread too,
// which lacked CAP_SETGID, and aborted the process (SIGABRT, every run).
// initgroups now goes as the set*id calls do: the dumper thread is stopped
// for the call.
TEST(Lifecycle, InitgroupsAfterAPrivilegeDropKeepingACapabilityWorks) {
  if (geteuid() != 0) GTEST_SKIP() << "drops from root to another user";
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("initgroups_caps")}, {});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(plain.out, "groups 1\n");
  for (const std::string sample : {"512k", "1"}) {
    TempDir dir;
    fs::permissions(dir.path(), fs::perms::all, fs::perm_options::replace);  // that user writes its exit dump here
    const CommandResult r = RunTracked({ProgramPath("initgroups_caps")}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, plain.out) << "LEAKTRACE_SAMPLE=" << sample;
    EXPECT_EQ(r.err, "");
  }
}

// A login shell is started as "-bash" (argv[0] with a leading dash): its
// dump was named -bash.PID.1.dump, which `leaktrace report` took for an
// option ("DUMP is required"). The name leaves the dash out.
TEST(Lifecycle, ALoginShellsDumpIsNamedWithoutItsDash) {
  TempDir dir;
  const CommandResult r = leaktrace::testing::Run(
      {"/bin/bash", "-c", "exec -a -bash /bin/bash --noprofile -c 'exit 0'"},
      {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_ON_EXIT=all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  bool found = false;
  for (const std::string& name : names) {
    EXPECT_NE(name[0], '-') << name;
    if (name.rfind("bash.", 0) == 0) {
      found = true;
      const CommandResult report = Leaktrace({"report", dir.path() + "/" + name});
      EXPECT_EQ(report.exit_code, 0) << report.err;
    }
  }
  EXPECT_TRUE(found) << "no bash.PID.N.dump among " << names.size() << " dumps";
}

// chroot(1) into a root that holds the program and libc but not the
// library: the program it execs there got the loader's "ERROR: ld.so:
// object ... cannot be preloaded" on its stderr, a line it never prints
// without leaktrace. After the chroot the library leaves itself out of
// LD_PRELOAD when the new root does not hold it.
TEST(Lifecycle, AProgramExecdInARootWithoutTheLibraryHearsNothingOfIt) {
  if (geteuid() != 0) GTEST_SKIP() << "chroot needs root";
  TempDir dir, root;
  for (const std::string& d : {"/bin", "/lib64", "/lib/x86_64-linux-gnu"}) fs::create_directories(root.path() + d);
  for (const std::string& f : {"/bin/echo", "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"})
    fs::copy_file(f, root.path() + f);
  const CommandResult r = RunTracked({"/usr/sbin/chroot", root.path(), "/bin/echo", "inside"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "inside\n");
  EXPECT_EQ(r.err, "");
}

// A process that chroot()s after start-up no longer sees its dump directory
// (ENOENT at the create): like one that may not write there, it keeps the
// dump in memory and `leaktrace snapshot`, outside the jail, writes it.
TEST(Lifecycle, AProcessThatChrootedIsStillSnapshot) {
  if (geteuid() != 0) GTEST_SKIP() << "chroot needs root";
  TempDir dir, jail;
  TrackedProgram p({ProgramPath("chroot_jail"), jail.path()}, dir.path());
  p.ExpectCheckpoint("jailed");
  const CommandResult snap = Leaktrace({"snapshot", "--timeout", "30", std::to_string(p.pid())});
  EXPECT_EQ(snap.exit_code, 0) << snap.err;
  const std::string path = snap.out.substr(0, snap.out.find('\n'));
  EXPECT_EQ(fs::path(path).parent_path(), fs::path(dir.path())) << snap.out;
  const CommandResult report = Leaktrace({"report", "--format", "json", path});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  // The program's own frames are named: its path was read before the new
  // root hid /proc (before: an empty path, "cannot open a module with an
  // empty path", and main's block under an address). The block is 16 MiB,
  // sampled but with chance e^-32 at the default interval (chroot_jail.c).
  EXPECT_EQ(report.err.find("empty path"), std::string::npos) << report.err;
  const nlohmann::json sites = nlohmann::json::parse(report.out)["sites"];
  bool main_named = false;
  for (const auto& site : sites)
    if (site.value("bytes", 0.0) >= (16 << 20))
      for (const auto& frame : site["frames"]) main_named |= frame.dump().find("\"main\"") != std::string::npos;
  EXPECT_TRUE(main_named) << sites.dump();
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
}

// In a pid namespace of its own (a container, `unshare --pid`) the process
// is pid 1 to itself, and so in its control block; `leaktrace snapshot`,
// outside, knows it by another pid. Before: its block was taken for one
// inherited from a parent, and the command waited for a dump named with the
// outer pid until the process exited. Its dumper thread's id in the block
// is its id in that namespace too: the command signals the thread by the
// id we know it by, and asks a process of one thread there for its thread
// (before: tgkill of the outer pid with the inner thread id failed, and a
// process idle in a sleep could not be signalled at all).
TEST(Lifecycle, ASnapshotReachesAProcessInAPidNamespaceOfItsOwn) {
  const std::vector<std::string> argv = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "/bin/sleep", "5"};
  if (access(argv[0].c_str(), X_OK) != 0) GTEST_SKIP() << "no unshare(1)";
  const CommandResult probe = leaktrace::testing::Run({argv[0], "--pid", "--fork", "--mount-proc", "/bin/true"});
  if (probe.exit_code != 0) GTEST_SKIP() << "pid namespaces are not allowed here: " << probe.err;
  TempDir dir;
  TrackedProgram p(argv, dir.path());
  pid_t sleeper = 0;  // unshare's child: pid 1 in the new namespace
  for (int i = 0; i < 200 && sleeper == 0; ++i) {
    std::ifstream children("/proc/" + std::to_string(p.pid()) + "/task/" + std::to_string(p.pid()) + "/children");
    children >> sleeper;
    if (sleeper == 0) usleep(10000);
  }
  ASSERT_GT(sleeper, 0);
  usleep(300 * 1000);  // into its sleep
  const CommandResult snap = Leaktrace({"snapshot", "--timeout", "3", std::to_string(sleeper)});
  EXPECT_EQ(snap.exit_code, 0) << snap.err;
  EXPECT_NE(snap.out.find("/sleep.1.1.dump"), std::string::npos) << snap.out;
  // Asked again, through the thread the first one started.
  const CommandResult again = Leaktrace({"snapshot", "--timeout", "3", std::to_string(sleeper)});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("/sleep.1.2.dump"), std::string::npos) << again.out;
  kill(sleeper, SIGTERM);
  p.Wait();
}

TEST(Lifecycle, AProcessOutOfDescriptorsIsStillSnapshot) {
  TempDir dir;
  TrackedProgram p({ProgramPath("fd_exhaust")}, dir.path());
  p.ExpectCheckpoint("exhausted");
  const CommandResult r = Leaktrace({"snapshot", "--timeout", "30", std::to_string(p.pid())});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string dump = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(fs::exists(dump)) << r.out;
  const nlohmann::json report = ReportJson(dump);
  const double descriptors = DescriptorsFromExhaust(report);
  // 64 numbers, less stdin, stdout and stderr: at least 55 from the loop.
  EXPECT_GE(descriptors, 55) << report.dump().substr(0, 2000);
  EXPECT_LE(descriptors, 61);
  p.Continue();
  p.ExpectCheckpoint("closed");
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
}

// The same leak, in a program that then exits holding every descriptor it
// may have: its exit dump is the one that shows the leak, and nobody is
// left to collect a dump kept in memory. The spare descriptor, kept since
// the first capture, makes way for the files the dump opens (private_fds.h,
// KeepSpareFd).
TEST(Lifecycle, AProcessThatExitsOutOfDescriptorsStillWritesItsExitDump) {
  TempDir dir;
  const CommandResult r = RunTracked({ProgramPath("fd_exhaust"), "--exit"}, dir.path(), {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> files = FilesIn(dir.path());
  ASSERT_EQ(files.size(), 1u) << r.err;
  const nlohmann::json report = ReportJson(dir.path() + "/" + files[0]);
  const double descriptors = DescriptorsFromExhaust(report);
  // 64 numbers, less stdin, stdout, stderr and leaktrace's own (the control
  // block and the spare, parked at 48 and up under this limit).
  EXPECT_GE(descriptors, 55) << report.dump().substr(0, 2000);
  EXPECT_LE(descriptors, 61);
  // The dump is whole: its memory section comes from /proc files it had to
  // open too, after the spare made way.
  EXPECT_TRUE(report["dumps"][0].contains("memory")) << report["dumps"][0].dump();
}

TEST(Lifecycle, RootSnapshotsAProcessThatDroppedPrivilegesIntoARootOnlyDirectory) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the program drops from root to nobody";
  TempDir dir;
  const std::string dumps = RootOnlyDirectoryIn(dir);
  TrackedProgram p({ProgramPath("drop_privileges")}, dumps, {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("dropped");
  const std::string before = p.Snapshot();  // the process cannot create it: the command writes it
  p.Continue();
  p.ExpectCheckpoint("after");
  const std::string after = p.Snapshot();
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
  for (const std::string& dump : {before, after}) {
    ASSERT_EQ(fs::path(dump).parent_path(), fs::path(dumps));
    struct stat st;
    ASSERT_EQ(stat(dump.c_str(), &st), 0) << dump;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << dump;
  }
  const Growth leak = GrowthAt(DiffJson(before, after), "leak_as_nobody", "drop_privileges");
  EXPECT_EQ(leak.count, 100);
  EXPECT_EQ(leak.bytes, 100 * 4096);
}

std::string FileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The snapshots `leaktrace snapshot` asks for and writes itself put no line
// on the program's stderr (an nginx worker's is its error.log); a snapshot
// asked for by a plain `kill`, which nobody fetches, still says once that
// it was not written.
TEST(Lifecycle, SnapshotsTheCommandWritesLeaveTheProgramsStderrAlone) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the program drops from root to nobody";
  TempDir dir;
  const std::string dumps = RootOnlyDirectoryIn(dir);
  const std::string err = dir.path() + "/stderr";
  TrackedProgram p({"/bin/sh", "-c", "exec \"$0\" 2>\"$1\"", ProgramPath("drop_privileges"), err}, dumps,
                   {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("dropped");
  p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  p.Snapshot();
  EXPECT_EQ(FilesIn(dumps).size(), 2u);
  EXPECT_EQ(FileText(err), "");

  ASSERT_EQ(kill(p.pid(), SIGUSR2), 0);
  std::string said;
  for (int i = 0; i < 1000 && said.find('\n') == std::string::npos; ++i) {
    usleep(10000);
    said = FileText(err);
  }
  EXPECT_NE(said.find("leaktrace: cannot write snapshot 3 ("), std::string::npos) << said;
  EXPECT_NE(said.find("leaktrace snapshot PID, run by root or the owner, can still fetch it"), std::string::npos)
      << said;
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
}

int ThreadsOf(pid_t pid) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) ++n;
  return n;
}

// haproxy's workers drop to nobody and then set RLIMIT_NPROC to 0, after
// which no thread can start. The dumper thread, started lazily, came too
// late: "cannot start the dumper thread" on the program's stderr, and
// `leaktrace snapshot` of the worker idle in epoll_wait timed out. It now
// starts before the limit is set.
TEST(Lifecycle, TheDumperThreadStartsBeforeTheProgramForbidsThreads) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the program drops from root to nobody";
  for (const std::string sample : {"512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    fs::permissions(dir.path(), fs::perms::all, fs::perm_options::replace);  // nobody writes its dumps here
    TrackedProgram p({ProgramPath("process_limit")}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("limited");
    const int threads = ThreadsOf(p.pid());
    EXPECT_EQ(threads, 2) << "the program's and the dumper thread";
    // Without the thread the command waits out its timeout (30 s).
    if (threads == 2) EXPECT_FALSE(p.Snapshot().empty());
    p.Continue();
    EXPECT_EQ(p.Wait(), 0);
  }
}

// A launcher (a shell here, a pyenv shim in real life) runs other programs
// before it execs the one the user wants: LEAKTRACE_PROGRAMS keeps the
// library on in every process but tracks only the programs named.
TEST(Lifecycle, ProgramFilterTracksOnlyTheNamedPrograms) {
  const std::vector<std::string> launcher = {"/bin/sh", "-c", "/bin/ls / >/dev/null; /bin/echo hi; exec /bin/cat /dev/null"};
  struct Case {
    const char* programs;
    std::vector<std::string> tracked;  // program names of the dumps written
  };
  const Case cases[] = {
      {"cat", {"cat"}},
      {"c?t,nothing*", {"cat"}},
      {"ec*,ls", {"echo", "ls"}},
      {"nothing", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.programs);
    TempDir dir;
    const CommandResult r = RunTracked(launcher, dir.path(), {std::string("LEAKTRACE_PROGRAMS=") + c.programs});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "hi\n");
    std::vector<std::string> programs;
    for (const std::string& name : FilesIn(dir.path())) programs.push_back(name.substr(0, name.find('.')));
    EXPECT_EQ(programs, c.tracked);
  }
}

// Fork children draw their own samples: eight workers doing the same work
// under sampling are eight independent estimates (they used to be eight
// copies of one, and a merged report then added their variances as if they
// were independent).
TEST(Lifecycle, ForkedWorkersSampleIndependently) {
  TempDir dir;
  // The workers exit young: LEAKTRACE_ON_EXIT=all keeps their exit dumps.
  const CommandResult r =
      RunTracked({ProgramPath("prefork_workers")}, dir.path(), {"LEAKTRACE_SAMPLE=16k", "LEAKTRACE_ON_EXIT=all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<double> estimates;
  int workers = 0;
  for (const std::string& name : FilesIn(dir.path())) {
    const CommandResult report = Leaktrace({"report", "--format", "json", dir.path() + "/" + name});
    ASSERT_EQ(report.exit_code, 0) << report.err;
    const nlohmann::json parsed = nlohmann::json::parse(report.out);
    double bytes = 0;
    bool worker = false;
    for (const auto& site : parsed["sites"])
      for (const auto& frame : site["frames"])
        if (frame.value("function", "") == "worker_leak") {
          bytes += site.value("bytes", 0.0);
          worker = true;
          break;
        }
    if (!worker) continue;  // the parent
    ++workers;
    estimates.insert(bytes);
  }
  EXPECT_EQ(workers, 8);
  // 2 MB each in blocks of 1,000 bytes at one sample per 16 KiB: ~118
  // samples of equal weight, so an estimate is the number of samples (a
  // binomial count) times one weight. Eight independent ones all take one
  // value with probability 4e-11 (computed exactly); copies of one sequence
  // always do. (At 64k, ~30 samples, fewer than 3 distinct values came with
  // probability 5e-6.)
  EXPECT_GE(estimates.size(), 2u) << "the workers' samples are copies of one another";
}

TEST(Lifecycle, VerboseSaysWhatIsTrackedInOneLine) {
  TempDir dir;
  const CommandResult r = RunTracked({"/bin/true"}, dir.path(), {"LEAKTRACE_VERBOSE=1", "LEAKTRACE_SAMPLE=64k"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(std::regex_match(r.err, std::regex("leaktrace: tracking true \\(pid [0-9]+\\): heap sampled every 64k, fds, "
                                                 "mappings and threads exact; snapshots on SIGUSR2 \\(signal 12\\), at exit into " +
                                                 dir.path() + "\n")))
      << r.err;
  const CommandResult quiet = RunTracked({"/bin/true"}, dir.path());
  EXPECT_EQ(quiet.err, "");
}

}  // namespace
}  // namespace leaktrace::testing
