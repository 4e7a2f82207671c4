#include "cli/attach/borrowed_thread.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <cerrno>
#include <cstring>

#include "cli/attach/permission.h"
#include "cli/attach/process_modules.h"
#include "cli/errors.h"

namespace leaktrace::cli::attach {
namespace {

constexpr uint64_t kRedZone = 128;
constexpr uint64_t kScratchBytes = 4096;  // strings pushed for the calls
constexpr uint64_t kReturnTrap = 0;       // return address of every call: faults

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// System calls a thread waits in outside any lock the loader or malloc
// could need (x86-64 numbers). Not futex: a thread waiting for one lock may
// hold another. Not restart_syscall: it resumes whatever a stop interrupted,
// a timed futex wait included, and our own PTRACE_INTERRUPT of a thread we
// then passed over is such a stop (a Python thread in Event().wait() was
// borrowed that way).
bool WaitingSyscall(long nr) {
  switch (nr) {
    case SYS_read: case SYS_readv: case SYS_poll: case SYS_select: case SYS_pause: case SYS_nanosleep:
    case SYS_accept: case SYS_accept4: case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg:
    case SYS_wait4: case SYS_waitid: case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait:
    case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_clock_nanosleep: case SYS_ppoll: case SYS_pselect6:
    case SYS_io_getevents:
#ifdef SYS_epoll_pwait2
    case SYS_epoll_pwait2:
#endif
      return true;
    default:
      return false;
  }
}

std::vector<pid_t> Threads(pid_t pid) {
  std::vector<pid_t> tids;
  DIR* d = opendir(fmt::format("/proc/{}/task", pid).c_str());
  if (d == nullptr) return tids;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    const long tid = strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0') tids.push_back(static_cast<pid_t>(tid));
  }
  closedir(d);
  // The main thread first: in a service it is the one in its event loop.
  std::sort(tids.begin(), tids.end(), [pid](pid_t a, pid_t b) { return (a == pid) > (b == pid) || (a != pid && b != pid && a < b); });
  return tids;
}

[[noreturn]] void Exited(pid_t pid) { throw UsageError(fmt::format("process {} exited during the attach", pid)); }

// Waits for `tid`'s next stop. False when it exited.
bool WaitStop(pid_t tid, int& status) {
  for (;;) {
    const pid_t r = waitpid(tid, &status, __WALL);
    if (r == tid) return WIFSTOPPED(status);
    if (r < 0 && errno != EINTR) return false;
  }
}

bool IsEventStop(int status) { return (status >> 16) == PTRACE_EVENT_STOP; }

// Seizes `tid` and waits until it is in its interrupt stop; signals met on
// the way are passed on at once (nothing is changed yet). False when the
// thread is gone.
bool SeizeAndStop(pid_t tid, int& seize_errno) {
  if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
    seize_errno = errno;
    return false;
  }
  if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) return false;
  for (;;) {
    int status = 0;
    if (!WaitStop(tid, status)) return false;
    if (IsEventStop(status)) return true;
    ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(WSTOPSIG(status))));
  }
}

}  // namespace

BorrowedThread BorrowedThread::Borrow(pid_t pid, int patience_ms) {
  const double deadline = Now() + patience_ms / 1000.0;
  std::optional<ProcessModule> loader;
  for (const ProcessModule& m : ReadProcessModules(pid))
    if (m.path.find("/ld-linux") != std::string::npos) loader = m;
  for (;;) {
    const std::vector<pid_t> tids = Threads(pid);
    if (tids.empty()) throw UsageError(fmt::format("no process {}", pid));
    // Whether every thread looked at in this round waited in futex (an idle
    // JVM's threads all do: sleeps, monitors, its GC), which no wait here
    // can be borrowed from: said so when the patience runs out.
    bool all_in_futex = true;
    for (pid_t tid : tids) {
      int seize_errno = 0;
      const double t0 = Now();
      if (!SeizeAndStop(tid, seize_errno)) {
        if (seize_errno == EPERM) throw UsageError(ExplainPtraceDenied(pid));
        if (seize_errno == ESRCH && kill(pid, 0) != 0) Exited(pid);
        continue;
      }
      BorrowedThread t(pid, tid, -1);
      t.attached_ = true;
      t.stopped_at_ = t0;
      if (ptrace(PTRACE_GETREGS, tid, nullptr, &t.saved_regs_) != 0) continue;  // destructor detaches
      // In ld.so itself: it may be in the middle of a dlopen. (Its image
      // is well under 1 MiB; a false match only costs a retry.)
      const auto rip = static_cast<uint64_t>(t.saved_regs_.rip);
      const bool in_loader = loader && rip >= loader->start && rip < loader->start + (1u << 20);
      const long nr = static_cast<long>(t.saved_regs_.orig_rax);
      // (A timed futex wait the interrupt above broke is resumed as a
      // restart_syscall, which may be resuming one.)
      if (nr != SYS_futex && nr != SYS_restart_syscall) all_in_futex = false;
      if (nr < 0 || !WaitingSyscall(nr) || in_loader) continue;  // not a safe point: detach, next
      t.SaveState();
      t.mem_fd_ = open(fmt::format("/proc/{}/task/{}/mem", pid, tid).c_str(), O_RDWR | O_CLOEXEC);
      if (t.mem_fd_ < 0) throw UsageError(fmt::format("cannot open /proc/{}/mem: {}", pid, std::strerror(errno)));
      return t;
    }
    if (Now() > deadline && all_in_futex)
      throw UsageError(fmt::format(
          "every thread of process {} waits in futex (a lock or a condition variable, as all of an idle JVM's do) "
          "or resumes a wait that may be one, where loading a library is not safe, and did for {} ms: it can be "
          "attached while one of its threads "
          "waits in epoll_wait, poll, read, accept or nanosleep (a server with a thread on its socket), or started "
          "under 'leaktrace run'",
          pid, patience_ms));
    if (Now() > deadline)
      throw UsageError(fmt::format(
          "no thread of process {} was waiting in a system call where loading a library is safe (epoll_wait, poll, "
          "read, nanosleep...) within {} ms; try again when it is idle",
          pid, patience_ms));
    usleep(2000);
  }
}

BorrowedThread::BorrowedThread(BorrowedThread&& o) noexcept
    : pid_(o.pid_), tid_(o.tid_), mem_fd_(o.mem_fd_), attached_(o.attached_), stopped_at_(o.stopped_at_),
      saved_regs_(o.saved_regs_), saved_xstate_(std::move(o.saved_xstate_)), xstate_is_fxsave_(o.xstate_is_fxsave_),
      scratch_top_(o.scratch_top_), scratch_used_(o.scratch_used_), saved_stack_(std::move(o.saved_stack_)),
      held_signals_(std::move(o.held_signals_)), in_trap_stop_(o.in_trap_stop_), state_saved_(o.state_saved_) {
  o.attached_ = false;
  o.mem_fd_ = -1;
}

BorrowedThread::~BorrowedThread() {
  if (attached_) {
    try {
      Release();
    } catch (...) {
    }
  }
  if (mem_fd_ >= 0) close(mem_fd_);
}

void BorrowedThread::SaveState() {
  saved_xstate_.assign(16384, 0);
  iovec iov{saved_xstate_.data(), saved_xstate_.size()};
  if (ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) == 0) {
    saved_xstate_.resize(iov.iov_len);
  } else {
    iov = {saved_xstate_.data(), sizeof(user_fpregs_struct)};
    if (ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(NT_PRFPREG), &iov) != 0)
      throw UsageError(fmt::format("cannot read the floating-point state of thread {}: {}", tid_, std::strerror(errno)));
    saved_xstate_.resize(iov.iov_len);
    xstate_is_fxsave_ = true;
  }
  scratch_top_ = (static_cast<uint64_t>(saved_regs_.rsp) - kRedZone) & ~uint64_t{15};
  saved_stack_.assign(kScratchBytes, 0);
  state_saved_ = true;
}

void BorrowedThread::Write(uint64_t address, const void* data, size_t bytes) {
  if (pwrite(mem_fd_, data, bytes, static_cast<off_t>(address)) != static_cast<ssize_t>(bytes))
    throw UsageError(fmt::format("cannot write the memory of process {}: {}", pid_, std::strerror(errno)));
}

void BorrowedThread::Read(uint64_t address, void* data, size_t bytes) {
  if (pread(mem_fd_, data, bytes, static_cast<off_t>(address)) != static_cast<ssize_t>(bytes))
    throw UsageError(fmt::format("cannot read the memory of process {}: {}", pid_, std::strerror(errno)));
}

uint64_t BorrowedThread::Push(const void* data, size_t bytes) {
  const uint64_t size = (bytes + 15) & ~uint64_t{15};
  if (scratch_used_ + size + 64 > kScratchBytes) throw UsageError("attach: too much data for the scratch area");
  if (scratch_used_ == 0) Read(scratch_top_ - kScratchBytes, saved_stack_.data(), kScratchBytes);
  scratch_used_ += size;
  const uint64_t at = scratch_top_ - scratch_used_;
  Write(at, data, bytes);
  return at;
}

std::string BorrowedThread::ReadString(uint64_t address, size_t max) {
  std::string s(max, '\0');
  const ssize_t n = pread(mem_fd_, s.data(), max, static_cast<off_t>(address));
  s.resize(n > 0 ? static_cast<size_t>(n) : 0);
  const size_t nul = s.find('\0');
  if (nul != std::string::npos) s.resize(nul);
  return s;
}

uint64_t BorrowedThread::ReadWord(uint64_t address) {
  uint64_t v = 0;
  Read(address, &v, sizeof v);
  return v;
}

uint64_t BorrowedThread::Call(uint64_t function, const std::vector<uint64_t>& args) {
  if (scratch_used_ == 0) Read(scratch_top_ - kScratchBytes, saved_stack_.data(), kScratchBytes);
  user_regs_struct regs = saved_regs_;
  uint64_t sp = (scratch_top_ - scratch_used_ - 16) & ~uint64_t{15};
  sp -= 8;  // as after a call: the return address at an address = 8 mod 16
  Write(sp, &kReturnTrap, sizeof kReturnTrap);
  if (scratch_used_ < scratch_top_ - sp) scratch_used_ = scratch_top_ - sp;
  regs.rsp = sp;
  regs.rip = function;
  regs.rax = 0;
  regs.orig_rax = static_cast<unsigned long long>(-1);  // not in a system call: nothing to restart
  unsigned long long* const slots[6] = {&regs.rdi, &regs.rsi, &regs.rdx, &regs.rcx, &regs.r8, &regs.r9};
  for (size_t i = 0; i < args.size() && i < 6; ++i) *slots[i] = args[i];
  if (ptrace(PTRACE_SETREGS, tid_, nullptr, &regs) != 0)
    throw UsageError(fmt::format("cannot set the registers of thread {}: {}", tid_, std::strerror(errno)));
  if (ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0) Exited(pid_);
  in_trap_stop_ = false;
  for (;;) {
    int status = 0;
    if (!WaitStop(tid_, status)) {
      attached_ = false;
      Exited(pid_);
    }
    if (IsEventStop(status)) {  // a group stop (SIGSTOP to the process): go on with the call
      ptrace(PTRACE_CONT, tid_, nullptr, nullptr);
      continue;
    }
    const int sig = WSTOPSIG(status);
    user_regs_struct now;
    ptrace(PTRACE_GETREGS, tid_, nullptr, &now);
    if (sig == SIGSEGV && now.rip == kReturnTrap) {
      in_trap_stop_ = true;
      return now.rax;
    }
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
      in_trap_stop_ = true;  // put everything back; the call is lost
      throw UsageError(fmt::format("the call injected into process {} faulted (signal {} at {:#x}); the thread was "
                                   "restored", pid_, sig, static_cast<uint64_t>(now.rip)));
    }
    // Someone else's signal: held, delivered at the detach.
    siginfo_t info = {};
    ptrace(PTRACE_GETSIGINFO, tid_, nullptr, &info);
    held_signals_.push_back(info);
    ptrace(PTRACE_CONT, tid_, nullptr, nullptr);
  }
}

double BorrowedThread::Release() {
  if (!attached_) return 0;
  attached_ = false;
  if (!state_saved_) {  // looked at, never changed
    ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
    return Now() - stopped_at_;
  }
  bool ok = true;
  if (scratch_used_ != 0 && mem_fd_ >= 0)
    ok &= pwrite(mem_fd_, saved_stack_.data(), kScratchBytes, static_cast<off_t>(scratch_top_ - kScratchBytes)) ==
          static_cast<ssize_t>(kScratchBytes);
  if (!saved_xstate_.empty()) {
    iovec iov{saved_xstate_.data(), saved_xstate_.size()};
    ok &= ptrace(PTRACE_SETREGSET, tid_, reinterpret_cast<void*>(xstate_is_fxsave_ ? NT_PRFPREG : NT_X86_XSTATE), &iov) == 0;
  }
  ok &= ptrace(PTRACE_SETREGS, tid_, nullptr, &saved_regs_) == 0;
  // The first held signal goes with the detach, its siginfo as it came (only
  // from a signal-delivery stop: the return trap); any others are sent again.
  int deliver = 0;
  size_t first_resent = 0;
  if (!held_signals_.empty() && in_trap_stop_ &&
      ptrace(PTRACE_SETSIGINFO, tid_, nullptr, &held_signals_[0]) == 0) {
    deliver = held_signals_[0].si_signo;
    first_resent = 1;
  }
  ptrace(PTRACE_DETACH, tid_, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(deliver)));
  const double away = Now() - stopped_at_;
  for (size_t i = first_resent; i < held_signals_.size(); ++i) syscall(SYS_tgkill, pid_, tid_, held_signals_[i].si_signo);
  if (!ok) throw UsageError(fmt::format("could not restore thread {} of process {} exactly", tid_, pid_));
  return away;
}

}  // namespace leaktrace::cli::attach
