// leaktrace snapshot [--timeout S] PID: ask a tracked process for a dump, wait
// until it is complete, print its path.
//
// Preferred path: the library's control block (control_block.h) names the
// signal and counts completed dumps. Fallback for a process that keeps none
// (under a descriptor limit below 64, every number is the program's): the
// process's environment gives signal and directory, and we wait for a new
// <program>.<pid>.<seq>.dump there (dumps appear atomically, by rename). A
// process with no block under a wider limit, or without the library mapped,
// is not tracked and never signalled.
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/control_block.h"
#include "format/control_block.h"
#include "format/dump_reader.h"
#include "format/snapshot_signal.h"
#include "cli/dump_files.h"
#include "cli/dump_handover.h"
#include "cli/process_state.h"
#include "cli/warnings.h"
#include "cli/errors.h"
#include "cli/output.h"
#include "cli/signals.h"

namespace leaktrace::cli {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

pid_t ParsePid(const std::string& text) {
  long v = 0;
  if (text.empty() || text.size() > 9) throw UsageError(fmt::format("'{}' is not a process id", text));
  for (char c : text) {
    if (c < '0' || c > '9') throw UsageError(fmt::format("'{}' is not a process id", text));
    v = v * 10 + (c - '0');
  }
  if (v <= 0) throw UsageError(fmt::format("'{}' is not a process id", text));
  return static_cast<pid_t>(v);
}

bool Alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  // A zombie still answers kill(0) but will never write anything.
  return ProcessState(pid) != 'Z';
}

// Thrown where a wait finds that the process exec'd (a reload: haproxy -W's
// master on SIGUSR2, nginx's binary upgrade): the block in hand is the old
// image's, never written again, and a request or signal sent by it was for
// the old image's threads, which the exec ended. ViaControlBlock starts
// over against the new image.
struct ImageReplaced {};

// Throws ImageReplaced when `pid` runs and no longer holds `control`. A
// process on its way out gives up its descriptors too, before it is a
// zombie: that one is still taken for exec'd, and the new image's block,
// never found, then gives way to the exit (BlockOfNewImage).
void ThrowIfReplaced(pid_t pid, const ControlHandle& control) {
  if (!control.HeldBy(pid) && Alive(pid)) throw ImageReplaced{};
}

// The snapshot signal, marked as ours (format::AskedByReader): the process
// then knows a reader waits for the dump. To thread `tid` of `pid`, or to
// the process as a whole when `tid` is 0. Falls back to a plain signal when
// the kernel refuses a queued one (EAGAIN: the target user's queue of
// pending signals is full). 0 or -1 with errno, as kill.
int SendMarked(pid_t pid, pid_t tid, int sig) {
  siginfo_t info{};
  info.si_signo = sig;
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  info.si_value.sival_int = format::kReaderAsksValue;
  const long rc = tid > 0 ? syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &info)
                          : syscall(SYS_rt_sigqueueinfo, pid, sig, &info);
  if (rc == 0 || errno != EAGAIN) return static_cast<int>(rc);
  return static_cast<int>(tid > 0 ? syscall(SYS_tgkill, pid, tid, sig) : kill(pid, sig));
}

// To the library's dumper thread when we know it, so the signal interrupts
// none of the program's own system calls. Without one (it starts lazily),
// to the one thread ThreadToSignal picks, once no thread it could pick
// waits in a call the signal would cut short (a blocking write that has
// moved part of its data would return the part): until `deadline`,
// watching `control` (when given) for a dumper thread meanwhile; then
// fails, the program left alone. To the process when no thread can be
// read.
// `marked`: the process's control block says its library knows our mark
// (SendMarked); else a plain tgkill or kill.
// With `control`, a process that exec'd meanwhile is not signalled
// (ImageReplaced): a thread picked from /proc may be its new image's, whose
// library may not handle the signal yet (its default action ends the
// process). The block's own dumper thread needs no such look: an exec ends
// it, and the signal then finds no thread (ESRCH).
void SendSignal(pid_t pid, int sig, pid_t tid, bool marked, Clock::time_point deadline, double timeout,
                const ControlHandle* control = nullptr) {
  const auto send = [&](pid_t to) {
    if (marked) return SendMarked(pid, to, sig);
    return static_cast<int>(to > 0 ? syscall(SYS_tgkill, pid, to, sig) : kill(pid, sig));
  };
  for (;;) {
    if (tid > 0 && send(tid) == 0) return;
    const ThreadChoice choice = ThreadToSignal(pid, sig);
    if (choice.tid > 0 && !choice.cuts_short) {
      if (control != nullptr) ThrowIfReplaced(pid, *control);
      if (send(choice.tid) == 0) return;
    }
    if (choice.tid <= 0 || !choice.cuts_short) break;
    if (!Alive(pid)) return;  // the caller's wait tells: an exit dump, or "exited before"
    if (Clock::now() >= deadline)
      throw CliError(kExitFailed,
                     fmt::format("process {} was not signalled: it has no leaktrace dumper thread yet, and for {:g} s "
                                 "every thread that could take the signal waited in a call the signal would cut "
                                 "short ({}); its thread starts at the program's next wait or tracked event, unless "
                                 "the program may start no thread (leaktrace then said so on its stderr)",
                                 pid, timeout, choice.waiting_in));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (control != nullptr) {
      // An exec'd process's old block never names the new image's thread.
      ThrowIfReplaced(pid, *control);
      if (std::optional<ControlBlock> now = control->Read()) tid = TidInOurNamespace(pid, now->signal_tid);
    }
  }
  if (!Alive(pid)) return;  // gone while we looked: the caller's wait tells
  if (control != nullptr) ThrowIfReplaced(pid, *control);
  if (send(0) != 0) {
    if (errno == ESRCH) throw UsageError(fmt::format("process {} does not exist", pid));
    throw UsageError(fmt::format("cannot signal process {}: {}", pid, std::strerror(errno)));
  }
}

// `sig`: the snapshot signal sent, when known (0 otherwise; -1: none, the
// process was asked through its control block).
[[noreturn]] void TimedOut(pid_t pid, double timeout, int sig = 0) {
  std::string message = fmt::format("timed out after {:g} s waiting for process {} to write a snapshot", timeout, pid);
  // A stopped process takes the request when it runs again: say why it has not.
  if (const std::string why = StateObstacle(pid, ProcessState(pid)); !why.empty()) {
    message += fmt::format(": {}; it writes the snapshot once it runs again", why);
  } else if (sig < 0) {
    message += fmt::format(": it takes no snapshot signal and was asked through its control block; its leaktrace "
                           "thread takes the request within {} ms once it runs, and starts at the program's next "
                           "tracked event or wait",
                           format::control::kSnapshotRequestPollMs);
  } else if (sig > 0 && EveryThreadBlocks(pid, sig)) {
    // Pending until a thread unblocks it (a program that blocks every signal).
    message += fmt::format(": every thread of it blocks signal {} and no leaktrace thread runs there to take it; "
                           "it takes the snapshot once a thread unblocks that signal, or at its next tracked event "
                           "(it was asked for its thread)",
                           sig);
  }
  throw CliError(kExitFailed, message);
}

[[noreturn]] void Exited(pid_t pid) {
  throw CliError(kExitFailed, fmt::format("process {} exited before the snapshot was written", pid));
}

// Prints the dump's path; when it is the process's exit dump (the process
// exited before it took the snapshot, which the path alone does not tell),
// says so on stderr too.
int PrintDump(pid_t pid, const std::string& path) {
  WriteStdout(path + "\n");
  try {
    if (format::ReadDump(path).process.trigger == format::Trigger::kExit)
      Warn(fmt::format("process {} exited before it took the snapshot; {} is its exit dump", pid, path));
  } catch (const std::exception&) {
    // Unreadable now (removed meanwhile): the path is all there is to say.
  }
  return kExitOk;
}

// The block, when the process takes snapshots.
ControlBlock ReadTakingSnapshots(pid_t pid, const ControlHandle& control) {
  std::optional<ControlBlock> block = control.Read();
  if (!block) throw UsageError(fmt::format("process {}: unreadable leaktrace control block", pid));
  if (block->failed == format::control::kFailedForGood)
    throw UsageError(fmt::format("process {} takes no snapshots: {}", pid, block->error));
  return *block;
}

[[noreturn]] void NoSignalNoRequest(pid_t pid) {
  throw UsageError(fmt::format("process {} takes no snapshot signal (LEAKTRACE_SIGNAL=0, or the program handles "
                               "every signal leaktrace could take, as a Go runtime does), and its libleaktrace takes "
                               "no request through its control block (an older one); its interval and exit "
                               "snapshots go on",
                               pid));
}

// The block, when it says the process takes a snapshot signal.
ControlBlock ReadWithSignal(pid_t pid, const ControlHandle& control) {
  const ControlBlock block = ReadTakingSnapshots(pid, control);
  if (block.signal == 0) NoSignalNoRequest(pid);
  return block;
}

// Waits for a dump of `pid` beyond seq `before` in its own control block.
// Throws ImageReplaced when the process exec'd first.
int WaitThroughControlBlock(pid_t pid, const ControlHandle& control, uint64_t before, Clock::time_point deadline, int sig,
                            double timeout) {
  for (;;) {
    std::this_thread::sleep_for(kPollInterval);
    // Looked at before the block is read: an image that completed the dump
    // and then exec'd had written so in the block by the time its
    // descriptor went, and that dump is ours.
    const bool held = control.HeldBy(pid);
    // The handle stays readable after the process exits: an exit dump still counts.
    if (std::optional<ControlBlock> now = control.Read(); now && now->completed > before) {
      return PrintDump(pid, now->last);
    } else if (now && now->handover > before && !now->handover_path.empty()) {
      return PrintDump(pid, WriteHandedOverDump(pid, *now));
    } else if (now && now->failed > before) {
      throw CliError(kExitFailed, fmt::format("process {} cannot write its dump to {}: {}", pid, now->dir,
                                              now->error.empty() ? "unknown reason" : now->error));
    }
    if (!Alive(pid)) {
      std::optional<ControlBlock> last = control.Read();
      if (last && last->completed > before) return PrintDump(pid, last->last);
      Exited(pid);
    }
    if (!held) throw ImageReplaced{};
    if (Clock::now() >= deadline) TimedOut(pid, timeout, sig);
  }
}

// signal_tid -1: the process's dumper thread is starting (a process asked
// right after it started). Its id comes within microseconds, or a few
// milliseconds on a loaded machine; the signal waits for it, since sent to
// the process as a whole it could cut one of the program's calls short.
// After kDumperStartWait the process as a whole gets it after all.
constexpr auto kDumperStartWait = std::chrono::seconds(2);
// How long a process with no control block yet is given to start its
// library (ViaEnvironment is for libraries that make none).
constexpr auto kLibraryStartWait = std::chrono::seconds(2);
// The same wait for a process in a seccomp sandbox with the library mapped
// (SandboxedWithTheLibrary): its block, if it makes one, comes at its start.
constexpr auto kSandboxedStartWait = std::chrono::milliseconds(200);

// signal_tid 0 in a process's own block: no dumper thread yet (it starts
// lazily: docs/preload.md). A program that is about to wait where a signal
// would cut its call short starts it first and says -1; this short second
// look covers a program that printed "ready" and was then descheduled just
// before its wait, which the signal would otherwise interrupt.
constexpr auto kLazyStartGrace = std::chrono::milliseconds(20);
// A process of one thread that runs, without waiting, starts its thread
// only when asked (ControlHandle::AskForDumperThread): at a tracked event,
// where it reads the clock at one event in eight and the request at most
// every 10 ms (preload/snapshot/dumper.cc, ReaderAskedForTheThread). Its
// thread then writes the snapshot, the allocator asked, rather than the
// signal's handler on the program's own thread; one that makes no tracked
// event meanwhile is signalled as before. 500 ms: a program of a few dozen
// events a second between raw waits (an open and close, then a 50 ms
// nanosleep the hooks do not see) looks every 200 ms; with 50 ms it was
// signalled instead, and the signal, sent when its thread was seen between
// two waits, could land in the next one and cut it short (EINTR), one run
// in a few under a loaded test suite. Never past the command's own deadline.
constexpr auto kAskedThreadGrace = std::chrono::milliseconds(500);

// The block's signal_tid is the thread's id in the process's own pid
// namespace (a container's, unshare --pid): made ours before it is returned.
ControlBlock WithDumperThreadId(pid_t pid, const ControlHandle& control, ControlBlock block,
                                Clock::time_point deadline) {
  if (block.signal_tid == 0 && block.pid == PidInOwnNamespace(pid)) {
    const bool asked = block.thread_request && control.AskForDumperThread();
    const auto grace = std::min(deadline, Clock::now() + (asked ? kAskedThreadGrace : kLazyStartGrace));
    while (block.signal_tid == 0 && Clock::now() < grace) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      // A process that exec's sees no request in its old block.
      ThrowIfReplaced(pid, control);
      if (std::optional<ControlBlock> now = control.Read()) block = *now;
    }
  }
  const auto started_by = Clock::now() + kDumperStartWait;
  while (block.signal_tid < 0 && Clock::now() < started_by && Alive(pid)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ThrowIfReplaced(pid, control);  // the exec ended the starting thread
    if (std::optional<ControlBlock> now = control.Read()) block = *now;
  }
  block.signal_tid = TidInOurNamespace(pid, block.signal_tid);
  return block;
}

// A process that takes no snapshot signal: asked through its control block
// (format/control_block.h, kSnapshotWantedLine), no signal sent at all. Its
// dumper thread, started at its next tracked event or between a wait's
// slices if it has none yet, takes the request within
// kSnapshotRequestPollMs.
int ViaRequest(pid_t pid, const ControlHandle& control, const ControlBlock& block, Clock::time_point deadline,
               double timeout) {
  if (!block.snapshot_request) NoSignalNoRequest(pid);
  if (!control.AskForSnapshot())
    throw UsageError(fmt::format("process {} takes no snapshot signal, and its control block cannot be written to ask "
                                 "it for a snapshot: {}",
                                 pid, std::strerror(errno)));
  return WaitThroughControlBlock(pid, control, block.started, deadline, /*sig=*/-1, timeout);
}

Clock::time_point DeadlineIn(double timeout) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout));
}

// The process's own block; nullopt also when the process is gone (its dump
// file, if any, then tells).
std::optional<ControlHandle> FindOwnBlock(pid_t pid) {
  try {
    return ControlHandle::Find(pid);
  } catch (const CliError&) {
    return std::nullopt;
  }
}

// Defined with the environment's way, below.
std::map<std::string, std::string> ReadEnviron(pid_t pid);
bool PreloadsLeaktrace(const std::map<std::string, std::string>& env);
long SoftDescriptorLimit(pid_t pid);
int ViaEnvironment(pid_t pid, double timeout);

// The executable of `pid`; empty when it has none to show: gone, or on its
// way out (its memory already given up, as its descriptors).
std::string ExePath(pid_t pid) {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink(fmt::format("/proc/{}/exe", pid), ec);
  return ec ? std::string() : exe.string();
}

// The block of the image `pid` exec'd, once its library made it (at its
// start, as kLibraryStartWait). nullopt when the process exited instead,
// or when the new image runs the library under a tight descriptor limit,
// where it keeps no block (the environment's way then finds it). Throws, as
// the command does for a process it does not track, when the new image has
// no library (its environment dropped LD_PRELOAD, as nginx's binary upgrade
// does unless nginx.conf passes it on) or makes no block.
std::optional<ControlHandle> BlockOfNewImage(pid_t pid, Clock::time_point deadline, double timeout) {
  const auto settle = std::min(deadline, Clock::now() + kLibraryStartWait);
  for (;;) {
    if (std::optional<ControlHandle> own = FindOwnBlock(pid)) return own;
    if (!Alive(pid)) return std::nullopt;
    // An image with no executable to show is on its way out, not untracked
    // (its environment reads empty too): wait for it to end. One in the
    // middle of its exec may show no environment yet: looked at again.
    const std::string exe = ExePath(pid);
    std::map<std::string, std::string> env;
    if (!exe.empty()) try {
        env = ReadEnviron(pid);
      } catch (const CliError&) {
        // Gone meanwhile: the next look says so.
      }
    const bool preloads = PreloadsLeaktrace(env);
    if (!exe.empty() && ((!env.empty() && !preloads) || Clock::now() >= settle)) {
      if (preloads && SoftDescriptorLimit(pid) < format::control::kTightDescriptorLimit) return std::nullopt;
      throw UsageError(fmt::format("process {} executed {} while it was asked for a snapshot, and leaktrace does not "
                                   "track the new program: {}",
                                   pid, exe,
                                   preloads ? "it keeps no control block (left out by LEAKTRACE_PROGRAMS, or the "
                                              "library could not start)"
                                            : "its environment has no LD_PRELOAD naming libleaktrace"));
    }
    if (Clock::now() >= deadline) TimedOut(pid, timeout);
    std::this_thread::sleep_for(kPollInterval);
  }
}

// When BlockOfNewImage found none: the process under a tight descriptor
// limit now, asked the environment's way in the time left; or it exited on
// its way to (or instead of) the exec, and the exit dump in its old block
// (`old`), begun after `asked_after`, is the answer.
int WithoutNewBlock(pid_t pid, const ControlHandle& old, uint64_t asked_after, Clock::time_point deadline,
                    double timeout) {
  if (Alive(pid)) {
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) TimedOut(pid, timeout);
    return ViaEnvironment(pid, left);
  }
  if (std::optional<ControlBlock> last = old.Read(); last && last->completed > asked_after)
    return PrintDump(pid, last->last);
  Exited(pid);
}

// Asks `pid` through its block for a dump and waits for it, until
// `deadline`. When the process exec's meanwhile, its new image is asked
// again, from the start (its block, its thread, the request or signal, and
// a dump begun after that), in the time left.
int ViaControlBlock(pid_t pid, ControlHandle first, Clock::time_point deadline, double timeout) {
  std::optional<ControlHandle> control(std::move(first));
  for (;;) {
    // A dump already under way when we ask was started before the request:
    // wait for one that starts after it.
    const ControlBlock unasked = ReadTakingSnapshots(pid, *control);
    try {
      if (unasked.signal == 0) return ViaRequest(pid, *control, unasked, deadline, timeout);
      const ControlBlock block = WithDumperThreadId(pid, *control, unasked, deadline);
      SendSignal(pid, block.signal, block.signal_tid, block.reader_mark, deadline, timeout, &*control);
      return WaitThroughControlBlock(pid, *control, block.started, deadline, block.signal, timeout);
    } catch (const ImageReplaced&) {
      std::optional<ControlHandle> next = BlockOfNewImage(pid, deadline, timeout);
      if (!next) return WithoutNewBlock(pid, *control, unasked.started, deadline, timeout);
      control.emplace(std::move(*next));
    }
  }
}

// The path of the newest dump of `pid` in `dir`; empty when it has none.
std::string NewestDumpOf(const std::string& dir, pid_t pid) {
  std::string path;
  uint32_t seq = 0;
  for (const DumpFile& f : ListDumps(dir))
    if (f.name.pid == static_cast<uint32_t>(pid) && f.name.seq > seq) seq = f.name.seq, path = f.path;
  return path;
}

// A fork child that has no block of its own yet, only its parent's
// (ControlHandle::FindInherited): it has begun no dump, and has no dumper
// thread either (the library starts both when first needed). The parent's
// block gives the signal and the directory, which the child shares; the
// signal goes to the child as a whole (its handler writes the dump on the
// thread it interrupts), and the child's own block, made by that dump,
// tells when it is done.
int ViaInheritedBlock(pid_t pid, const ControlHandle& inherited, double timeout) {
  const ControlBlock block = ReadWithSignal(pid, inherited);
  const std::string& dir = block.dir;
  const std::string earlier = NewestDumpOf(dir, pid);  // of an earlier process with this pid, if any
  const auto deadline = DeadlineIn(timeout);
  SendSignal(pid, block.signal, 0, block.reader_mark, deadline, timeout);
  for (;;) {
    std::this_thread::sleep_for(kPollInterval);
    if (std::optional<ControlHandle> own = FindOwnBlock(pid)) {
      try {
        return WaitThroughControlBlock(pid, *own, 0, deadline, 0, timeout);
      } catch (const ImageReplaced&) {
        // The child exec'd before it wrote the dump: its new image is asked.
        std::optional<ControlHandle> next = BlockOfNewImage(pid, deadline, timeout);
        if (!next) return WithoutNewBlock(pid, *own, 0, deadline, timeout);
        return ViaControlBlock(pid, std::move(*next), deadline, timeout);
      }
    }
    // The child may have written its dump and exited before its block was
    // seen (or could make none): its dump file says so.
    if (const std::string path = NewestDumpOf(dir, pid); !path.empty() && path != earlier) return PrintDump(pid, path);
    if (!Alive(pid)) Exited(pid);
    if (Clock::now() >= deadline) TimedOut(pid, timeout);
  }
}

std::map<std::string, std::string> ReadEnviron(pid_t pid) {
  std::string path = fmt::format("/proc/{}/environ", pid);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) throw UsageError(fmt::format("process {} does not exist", pid));
    throw UsageError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  std::map<std::string, std::string> env;
  std::string all = content.str();
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    std::string entry = all.substr(start, end - start);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    start = end + 1;
  }
  return env;
}

uint32_t NewestSeq(const std::string& dir, pid_t pid) {
  uint32_t seq = 0;
  for (const DumpFile& f : ListDumps(dir))
    if (f.name.pid == static_cast<uint32_t>(pid)) seq = std::max(seq, f.name.seq);
  return seq;
}

// Whether `sig` sent to `pid` would kill it: neither caught nor ignored
// (/proc/PID/status, SigCgt and SigIgn), its default action then ends the
// process (SIGUSR2's does). The library installs its handler when it starts
// tracking.
bool SignalWouldKill(pid_t pid, int sig) {
  if (sig < 1 || sig > 64) return false;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  unsigned long long handled = 0;
  int seen = 0;
  for (std::string line; seen < 2 && std::getline(status, line);)
    if (line.rfind("SigCgt:", 0) == 0 || line.rfind("SigIgn:", 0) == 0) {
      handled |= std::strtoull(line.c_str() + 7, nullptr, 16);
      ++seen;
    }
  return seen == 2 && ((handled >> (sig - 1)) & 1) == 0;
}

bool PreloadsLeaktrace(const std::map<std::string, std::string>& env) {
  auto it = env.find("LD_PRELOAD");
  return it != env.end() && it->second.find("libleaktrace") != std::string::npos;
}

bool PreloadsLeaktrace(pid_t pid) { return PreloadsLeaktrace(ReadEnviron(pid)); }

// Whether the library LD_PRELOAD names is mapped in `pid` (/proc/PID/maps):
// the same file (device and inode, as the process resolved the name
// against its working directory at start), or one named libleaktrace.
// LD_PRELOAD in the environment alone says nothing: the loader ignores it
// for a setuid or file-capability program (squid's helpers), and skips a
// path it cannot open, and such a program may have a SIGUSR2 handler of its
// own that a snapshot's signal would run. Throws when the maps cannot be read.
bool LibraryMapped(pid_t pid, const std::string& preload) {
  const std::string maps_path = fmt::format("/proc/{}/maps", pid);
  std::ifstream maps(maps_path);
  if (!maps) throw UsageError(fmt::format("cannot tell whether leaktrace tracks process {}: cannot read {}: {}", pid,
                                          maps_path, std::strerror(errno)));
  std::vector<std::pair<dev_t, ino_t>> files;
  const std::filesystem::path cwd = fmt::format("/proc/{}/cwd", pid);
  for (size_t start = 0; start <= preload.size();) {
    size_t end = preload.find_first_of(": ", start);
    if (end == std::string::npos) end = preload.size();
    const std::string entry = preload.substr(start, end - start);
    start = end + 1;
    if (entry.find("libleaktrace") == std::string::npos) continue;
    struct stat st;
    const std::string resolved = entry[0] == '/' ? entry : (cwd / entry).string();
    if (stat(resolved.c_str(), &st) == 0) files.emplace_back(st.st_dev, st.st_ino);
  }
  for (std::string line; std::getline(maps, line);) {
    // start-end perms offset major:minor inode path
    std::istringstream fields(line);
    std::string range, perms, offset, device, path;
    unsigned long long inode = 0;
    if (!(fields >> range >> perms >> offset >> device >> inode) || inode == 0) continue;
    std::getline(fields >> std::ws, path);
    if (std::filesystem::path(path).filename().string().find("libleaktrace") != std::string::npos) return true;
    const size_t colon = device.find(':');
    if (colon == std::string::npos) continue;
    const unsigned major_number = std::stoul(device.substr(0, colon), nullptr, 16);
    const unsigned minor_number = std::stoul(device.substr(colon + 1), nullptr, 16);
    for (const auto& [dev, ino] : files)
      if (ino == inode && major(dev) == major_number && minor(dev) == minor_number) return true;
  }
  return false;
}

// The soft RLIMIT_NOFILE of `pid` (/proc/PID/limits), or -1 when unknown.
long SoftDescriptorLimit(pid_t pid) {
  std::ifstream limits(fmt::format("/proc/{}/limits", pid));
  for (std::string line; std::getline(limits, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(std::strlen("Max open files")));
    std::string soft;
    fields >> soft;
    if (soft == "unlimited") return std::numeric_limits<long>::max();
    char* end = nullptr;
    const long value = std::strtol(soft.c_str(), &end, 10);
    return end != soft.c_str() && *end == '\0' ? value : -1;
  }
  return -1;
}

// A process under a seccomp filter ("Seccomp: 2" in /proc/PID/status) with
// a libleaktrace.so mapped: the library writes no snapshot there, and says
// so in its control block, unless it could make none (a soft descriptor
// limit of 0, as OpenSSH's pre-authentication child sets before its
// filter), and the environment may be rewritten (setproctitle).
bool SandboxedWithTheLibrary(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  bool filtered = false;
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Seccomp:", 0) == 0) filtered = line.find('2') != std::string::npos;
  if (!filtered) return false;
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  for (std::string line; std::getline(maps, line);)
    if (line.find("/libleaktrace") != std::string::npos) return true;
  return false;
}

// The thread of `pid` named as the library names its dumper thread, or 0.
pid_t DumperThreadByName(pid_t pid) {
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name == format::control::kDumperThreadName)
      return static_cast<pid_t>(std::strtol(task.path().filename().c_str(), nullptr, 10));
  }
  return 0;
}

int ViaEnvironment(pid_t pid, double timeout) {
  std::map<std::string, std::string> env = ReadEnviron(pid);
  auto get = [&](const char* key) -> std::string {
    auto it = env.find(key);
    return it == env.end() ? "" : it->second;
  };
  if (!PreloadsLeaktrace(env))
    throw UsageError(fmt::format("process {} is not running under leaktrace", pid));
  if (!LibraryMapped(pid, get("LD_PRELOAD")))
    throw UsageError(fmt::format("process {} is not running under leaktrace: its LD_PRELOAD names the library, but "
                                 "the library is not loaded (a setuid or file-capability program, whose loader "
                                 "ignores LD_PRELOAD, or a path it could not open)",
                                 pid));

  std::string signal_text = get("LEAKTRACE_SIGNAL");
  int sig = signal_text.empty() ? SIGUSR2 : ParseSignal(signal_text);
  if (sig < 0) throw UsageError(fmt::format("process {} has an invalid LEAKTRACE_SIGNAL={}", pid, signal_text));
  if (sig == 0) throw UsageError(fmt::format("process {} has snapshots by signal disabled (LEAKTRACE_SIGNAL=0)", pid));

  // The library resolves LEAKTRACE_DIR against its working directory at start;
  // the current one is the best we can see.
  std::error_code ec;
  std::filesystem::path cwd = std::filesystem::read_symlink(fmt::format("/proc/{}/cwd", pid), ec);
  if (ec) throw UsageError(fmt::format("cannot find the working directory of process {}: {}", pid, ec.message()));
  std::filesystem::path dir = get("LEAKTRACE_DIR").empty() ? cwd : cwd / get("LEAKTRACE_DIR");

  // No control block and no handler: the library is not (or not yet)
  // tracking this process: a program LEAKTRACE_PROGRAMS leaves out, a
  // setuid one, a library that did not load. The signal would kill it.
  if (SignalWouldKill(pid, sig))
    throw UsageError(fmt::format("process {} has LD_PRELOAD set but leaktrace is not tracking it (no handler for "
                                 "signal {}: left out by LEAKTRACE_PROGRAMS, setuid, or the library did not load)",
                                 pid, sig));
  // With a handler of its own (nginx's, squid's), a left-out program passes
  // the check above. Only a process under a tight descriptor limit tracks
  // without a control block: one under a wider limit is not tracked.
  if (SoftDescriptorLimit(pid) >= format::control::kTightDescriptorLimit)
    throw UsageError(fmt::format("process {} has LD_PRELOAD set but leaktrace is not tracking it (it keeps no control "
                                 "block: left out by LEAKTRACE_PROGRAMS, or the library could not start)",
                                 pid));
  uint32_t before = NewestSeq(dir, pid);
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
  // Its dumper thread, when it has one, by name: the signal sent there cuts
  // short none of the program's calls (a process that sleeps was refused).
  SendSignal(pid, sig, DumperThreadByName(pid), false, std::chrono::time_point_cast<Clock::duration>(deadline),
             timeout);
  for (;;) {
    std::this_thread::sleep_for(kPollInterval);
    for (const DumpFile& f : ListDumps(dir))
      if (f.name.pid == static_cast<uint32_t>(pid) && f.name.seq > before) return PrintDump(pid, f.path);
    if (!Alive(pid)) Exited(pid);
    if (Clock::now() >= deadline) TimedOut(pid, timeout);
  }
}

// The NUL-separated arguments of /proc/PID/cmdline; empty when unreadable.
std::vector<std::string> Cmdline(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  return args;
}

// True for the pid of a `leaktrace run` wrapper (`leaktrace run -- ./server &`
// then `$!`): its program is its child.
bool IsRunWrapper(pid_t pid) {
  const std::vector<std::string> args = Cmdline(pid);
  if (args.size() < 2 || args[1] != "run") return false;
  const std::string& exe = args[0];
  const size_t slash = exe.rfind('/');
  return (slash == std::string::npos ? exe : exe.substr(slash + 1)) == "leaktrace";
}

// The parent of `pid` (from /proc/PID/stat), or 0.
pid_t ParentOf(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream rest(line.substr(paren + 2));
  std::string state;
  long ppid = 0;
  return rest >> state >> ppid ? static_cast<pid_t>(ppid) : 0;
}

// Whether `pid` is still its parent's image, and that parent is not
// tracked: the same executable and the same arguments (a shell's child
// between its fork and its exec). A fork child of a tracked program that
// holds no block (one in a seccomp sandbox lets its parent's go) is
// answered at once.
bool SameImageAsUntrackedParent(pid_t pid) {
  const pid_t parent = ParentOf(pid);
  if (parent <= 1) return false;
  const std::string exe = ExePath(pid);
  if (exe.empty() || exe != ExePath(parent) || Cmdline(pid) != Cmdline(parent)) return false;
  try {
    return !ControlHandle::Find(parent) && !ControlHandle::FindInherited(parent);
  } catch (const CliError&) {
    return false;  // the parent is gone, or may not be looked at
  }
}

// `leaktrace run -- ./server & leaktrace snapshot $!`: $! may be asked for
// before the shell's child has exec'd the command (under load, a few
// milliseconds and more), and would be taken for an untracked process.
// Such a child, not tracked and still the image of its parent, which is
// not tracked either, is given until `until` to become the program. (A process that stays so, a subshell, is
// then judged as it is.)
void WaitForTheExecOfAForkedCommand(pid_t pid, Clock::time_point until) {
  if (ControlHandle::Find(pid) || ControlHandle::FindInherited(pid)) return;
  while (Clock::now() < until && Alive(pid) && SameImageAsUntrackedParent(pid))
    std::this_thread::sleep_for(kPollInterval);
}

// The children of `pid`, from every process's /proc/N/stat.
std::vector<pid_t> Children(pid_t pid) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 2));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == pid) children.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return children;
}

// The program a `leaktrace run` wrapper started, once the library in it is
// up (its control block exists), so the snapshot signal never reaches a
// program that has no handler for it yet. Waits at most until `deadline`.
pid_t ProgramOfWrapper(pid_t wrapper, Clock::time_point deadline, double timeout) {
  for (;;) {
    const std::vector<pid_t> children = Children(wrapper);
    if (children.size() > 1)
      throw UsageError(fmt::format("process {} is a 'leaktrace run' with {} children; give the program's pid",
                                   wrapper, children.size()));
    if (children.size() == 1) {
      // Right after the spawn the child may still be the wrapper's copy (no
      // library yet): wait for the library's control block, at most a few
      // seconds, then let the usual checks speak.
      const auto settle = std::min(deadline, Clock::now() + std::chrono::seconds(5));
      while (Clock::now() < settle && !ControlHandle::Find(children[0]) && Alive(children[0]))
        std::this_thread::sleep_for(kPollInterval);
      return children[0];
    }
    if (!Alive(wrapper)) throw CliError(kExitFailed, fmt::format("'leaktrace run' process {} exited", wrapper));
    if (Clock::now() >= deadline) TimedOut(wrapper, timeout);
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

Action AddSnapshotCommand(CLI::App& app) {
  struct Options {
    std::string timeout_text;
    double timeout = 30;
    std::string pid;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "snapshot",
      "Make a running, tracked process write a snapshot now (it finds the process's signal and dump directory "
      "itself), wait until the dump is complete, and print its path. The signal interrupts none of the program's "
      "calls: it goes to leaktrace's thread in the process; a process without one yet (a program of one thread "
      "that has not waited) is first asked to start it, which it does at its next tracked event, and if none comes "
      "within 500 ms the signal goes to a program thread in no call the signal would cut short, waiting for one if "
      "need be. A process that takes no snapshot signal (LEAKTRACE_SIGNAL=0, or a program that handles every signal "
      "leaktrace could take, as a Go runtime does) is asked through its control block instead, and no signal is "
      "sent. A process that executes a program meanwhile (a reload that re-executes the server) is asked again, "
      "its new image, within the same timeout. Exit 1 when the wait times out.");
  cmd->add_option("--timeout", opts->timeout_text, "Seconds to wait for the dump (fractions allowed)")
      ->type_name("S")
      ->default_str("30");
  cmd->add_option("PID", opts->pid,
                  "Process id of a process started with libleaktrace.so preloaded, or of the 'leaktrace run' that "
                  "started it")
      ->required()
      ->type_name("");
  cmd->footer(
      "Exit status: 0 the dump is complete (its path is on stdout; when the process exited first, its exit dump, "
      "with a warning saying so); 1 timed out (waiting for the dump, or for a moment to signal the process without "
      "cutting one of its calls short), the process exited first without an exit dump, or it could not write the dump "
      "(its reason said: a directory it may not write, no memory left); 2 no "
      "such process, not tracked (also when it executed, while asked, a program leaktrace is not in), or no snapshot "
      "signal and a library too old to be asked through its control block.\n"
      "Example:\n  leaktrace run -- ./server &\n  before=$(leaktrace snapshot $!)");
  return [opts] {
    if (!opts->timeout_text.empty()) {
      const std::string& t = opts->timeout_text;
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(t.c_str(), &end);
      if (t.find_first_not_of("0123456789.") != std::string::npos || end != t.c_str() + t.size() || errno != 0 ||
          !(v > 0) || v > 1e7)
        throw UsageError(fmt::format("--timeout: '{}' is not a number of seconds > 0", t));
      opts->timeout = v;
    }
    pid_t pid = ParsePid(opts->pid);
    if (ProcessState(pid) == 'Z') throw UsageError(StateObstacle(pid, 'Z'));
    WaitForTheExecOfAForkedCommand(
        pid, Clock::now() + std::min(std::chrono::duration_cast<Clock::duration>(kLibraryStartWait),
                                     std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(opts->timeout))));
    // `leaktrace run -- ./server &` then `leaktrace snapshot $!`: $! is the
    // wrapper, the program its child. The wrapper itself is never tracked.
    if (IsRunWrapper(pid))
      pid = ProgramOfWrapper(pid, Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(opts->timeout)),
                             opts->timeout);
    // A process asked for right after it started may not have its library
    // up yet: its control block comes with it (before its signal handler;
    // the block says when the handler's thread is ready, ViaControlBlock).
    // Wait a little for it rather than signal a process that cannot take it.
    const auto settle = Clock::now() + std::min(std::chrono::duration_cast<Clock::duration>(kLibraryStartWait),
                                                std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double>(opts->timeout)));
    // A process in a seccomp sandbox with the library loaded makes no block
    // later than its start: its answer needs no more than a moment.
    const auto sandbox_settle = Clock::now() + kSandboxedStartWait;
    for (;;) {
      if (std::optional<ControlHandle> control = ControlHandle::Find(pid))
        return ViaControlBlock(pid, std::move(*control), DeadlineIn(opts->timeout), opts->timeout);
      if (std::optional<ControlHandle> inherited = ControlHandle::FindInherited(pid))
        return ViaInheritedBlock(pid, *inherited, opts->timeout);
      if (Clock::now() >= settle || !Alive(pid) || !PreloadsLeaktrace(pid)) break;
      if (Clock::now() >= sandbox_settle && SandboxedWithTheLibrary(pid)) break;
      // Under a tight descriptor limit the library keeps no block: once its
      // dumper thread runs, it is up.
      if (SoftDescriptorLimit(pid) < format::control::kTightDescriptorLimit && DumperThreadByName(pid) != 0) break;
      std::this_thread::sleep_for(kPollInterval);
    }
    // Stopped before its library came up: it is not "not tracked".
    if (const char state = ProcessState(pid); state == 'T' || state == 't')
      throw CliError(kExitFailed, fmt::format("{} before leaktrace started in it; it can be snapshot once it runs again",
                                              StateObstacle(pid, state)));
    if (SandboxedWithTheLibrary(pid))
      throw UsageError(fmt::format("process {} takes no snapshots: it is in a seccomp sandbox (leaktrace writes no "
                                   "snapshot there: its system calls could kill the process)",
                                   pid));
    return ViaEnvironment(pid, opts->timeout);
  };
}

}  // namespace leaktrace::cli
