// sigaction, signal and the sigwait family, watched for one thing: the
// snapshot signal, which is the program's whenever the program wants it
// (dumper.h says exactly when leaktrace steps aside and what the program
// sees meanwhile). Everything else is forwarded unchanged.
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "preload/internal/compiler.h"
#include "preload/internal/mode.h"
#include "preload/interpose/real_functions.h"
#include "preload/snapshot/dumper.h"
#include "preload/record/thread_state.h"

using namespace leaktrace::preload;

LT_EXPORT int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  EnsureReal();
  const SigactionFn next = real.sigaction;
  if (LT_UNLIKELY(next == nullptr)) {  // no C library behind us: fail as the missing call would
    errno = ENOSYS;
    return -1;
  }
  int rc;
  // Other signals go straight on (ProgramSetsSnapshotSignal would find the
  // same, a page of code away: in a fork child, a fault).
  if (sig == g_config.snapshot_signal && ProgramSetsSnapshotSignal(sig, act, old, next, &rc)) return rc;
  return next(sig, act, old);
}

LT_EXPORT sighandler_t signal(int sig, sighandler_t handler) {
  EnsureReal();
  const auto next = real.signal;
  const SigactionFn real_sigaction = real.sigaction;
  if (LT_UNLIKELY(next == nullptr || real_sigaction == nullptr)) {
    errno = ENOSYS;
    return SIG_ERR;
  }
  // On the snapshot signal, as glibc's signal() does it (BSD semantics:
  // SA_RESTART, the signal blocked in its handler), through the one place
  // that decides about it.
  struct sigaction act = {}, old = {};
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  sigemptyset(&act.sa_mask);
  if (sig > 0 && sig < NSIG) sigaddset(&act.sa_mask, sig);
  int rc;
  if (sig == g_config.snapshot_signal && ProgramSetsSnapshotSignal(sig, &act, &old, real_sigaction, &rc))
    return rc == 0 ? old.sa_handler : SIG_ERR;
  return next(sig, handler);
}

// Blocking a handful of signals, the snapshot signal among them, is how a
// program starts taking them for itself (signalfd or sigwait later, or
// sigpending), and also how glibc's user and group lookups through systemd
// (libnss_systemd: getpwnam of a name not in /etc/passwd, initgroups) guard
// each lookup, putting the mask back at once. So a block is not a claim by
// itself: the thread is counted while it holds one (dumper.h,
// ThisThreadHoldsSnapshotSignalBlocked), and a signal sent to the process
// meanwhile goes back to the program. The claim is the wait (signalfd,
// sigwait and friends: ProgramWaitsForSignals). A (nearly) full set is a
// moment's masking (around a critical section, in a new worker thread), not
// even that.
namespace {

constexpr int kClaimAtMost = 16;  // signals in a set that may claim them

// Whether `word` has at most kClaimAtMost bits set. Counted here, not with
// __builtin_popcountll, which without -mpopcnt is a call into libgcc's
// helper on another page of code (in a fork child, one more page fault).
bool FewSignals(uint64_t word) {
  for (int n = 0; n <= kClaimAtMost; ++n) {
    if (word == 0) return true;
    word &= word - 1;
  }
  return false;
}

// What a mask change does to this thread's hold. A new hold counts before
// the call (a signal arriving as it blocks is the program's already); a
// release counts after it (ReleaseAfter): a signal left pending while the
// block held is delivered inside the call that lifts it, and must still be
// found the program's. Without a dumper thread of ours to take it at once
// (a fork child before its thread starts), that is when it arrives.
enum class MaskChange { kNone, kRelease };

MaskChange ProgramChangesMask(int how, const sigset_t* set) {
  if (set == nullptr || t_state.busy != 0) return MaskChange::kNone;
  const int sig = g_config.snapshot_signal;
  if (sig <= 0 || sig > 64) return MaskChange::kNone;
  // Signal s is bit s - 1 of the set's first word, the kernel's whole mask
  // on x86-64 (sigismember per signal cost 64 calls per sigprocmask).
  uint64_t word;
  memcpy(&word, set, sizeof word);
  const bool in_set = ((word >> (sig - 1)) & 1) != 0;
  if (how == SIG_UNBLOCK) {
    if (in_set && ThisThreadHoldsSnapshotSignal()) return MaskChange::kRelease;
  } else if (how == SIG_BLOCK || how == SIG_SETMASK) {
    if (in_set && FewSignals(word)) ThisThreadHoldsSnapshotSignalBlocked(true);
    else if (!in_set && how == SIG_SETMASK && ThisThreadHoldsSnapshotSignal()) return MaskChange::kRelease;
  }
  return MaskChange::kNone;
}

// The mask call itself, then a release counted (ProgramChangesMask).
template <typename Call>
int ChangingMask(int how, const sigset_t* set, Call&& call) {
  const MaskChange change = ProgramChangesMask(how, set);
  const int rc = call();
  if (change == MaskChange::kRelease) {
    const int saved_errno = errno;
    ThisThreadHoldsSnapshotSignalBlocked(false);
    errno = saved_errno;
  }
  return rc;
}

}  // namespace

LT_EXPORT int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  EnsureReal();
  const auto next = real.sigprocmask;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  return ChangingMask(how, set, [&] { return next(how, set, old); });
}

LT_EXPORT int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  EnsureReal();
  const auto next = real.pthread_sigmask;
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  return ChangingMask(how, set, [&] { return next(how, set, old); });
}

// The synchronous ways to take a signal: the program blocked it and reads it
// here, so leaktrace must not be the one taking it (dumper.h).
LT_EXPORT int sigwait(const sigset_t* set, int* sig) {
  EnsureReal();
  const auto next = real.sigwait;
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;
  ProgramWaitsForSignals(set);
  StartDumperBeforeWait();  // a wait a signal handler cuts short (hooks_wait.cc)
  return next(set, sig);
}

LT_EXPORT int sigwaitinfo(const sigset_t* set, siginfo_t* info) {
  EnsureReal();
  const auto next = real.sigwaitinfo;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  ProgramWaitsForSignals(set);
  StartDumperBeforeWait();  // a wait a signal handler cuts short (hooks_wait.cc)
  return next(set, info);
}

LT_EXPORT int sigtimedwait(const sigset_t* set, siginfo_t* info, const struct timespec* timeout) {
  EnsureReal();
  const auto next = real.sigtimedwait;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  ProgramWaitsForSignals(set);
  StartDumperBeforeWait();  // a wait a signal handler cuts short (hooks_wait.cc)
  return next(set, info, timeout);
}
