// The dumper thread: where snapshots are taken while the program runs. The
// snapshot signal's handler just wakes it; it also wakes itself every
// LEAKTRACE_INTERVAL seconds.
//
// The thread is started lazily. A second thread costs every process start
// (and every fork child) its creation, and on a busy machine a scheduler
// slice at exit, when the kernel must run it once more to end it: most
// processes (a shell's children, compilers, git) live a few milliseconds and
// are never asked for a snapshot. So it starts
//   - at once when LEAKTRACE_INTERVAL is set (it is the timer);
//   - at the first tracked event (a sampled allocation, a descriptor or a
//     mapping recorded) once the process, or fork child, is kLazyStartMs old;
//   - at the first tracked event after a snapshot signal found no thread.
// Until then the control block says signal_tid=0, so `leaktrace snapshot`
// signals the process as a whole, and the handler writes that snapshot
// itself, on the thread the signal interrupted, when that thread is not
// inside leaktrace and no other dump is under way (else at the thread's
// start, or in the exit dump). Such a process-directed signal may cut short
// a sleep or poll of the program: the price of not starting a thread in
// every process, paid only by a process idle since its first milliseconds.
#pragma once

#include <atomic>

#include "preload/compiler.h"

namespace leaktrace::preload {

inline constexpr int kLazyStartMs = 100;

// Installs the signal handler; starts the thread when an interval is set,
// else arms the lazy start. Constructor only.
void StartDumper();
// The dumper thread's kernel thread id (0 before it runs): the target for a
// thread-directed snapshot signal.
int DumperThreadId();

// Any thread, on a tracked event's slow path, not busy: starts the thread
// when the lazy start is due. One relaxed load when it is not armed.
inline void MaybeStartDumper();

// Async-signal-safe: asks the dumper thread for a snapshot.
void RequestSnapshot();
// Stops taking periodic/signal snapshots (process exit).
void StopDumper();
// The program installs `handler` for `sig` (hooks_signal.cc). When `sig` is
// the snapshot signal and the handler is not ours, leaktrace steps aside:
// no more snapshots by signal, one line on stderr. Any thread.
void NoticeProgramHandler(int sig, void* handler);

// Around the program's privilege changes (setuid and friends, hooks_privileges.cc):
// glibc applies those to every thread and aborts if one thread cannot follow
// (per-thread capabilities, PR_SET_KEEPCAPS), so the dumper thread must not
// exist meanwhile. PauseDumper stops and joins it (waiting out a dump under
// way); ResumeDumper starts it again. Always called as a pair.
void PauseDumper();
void ResumeDumper();

// Fork child: the thread is gone; arm the lazy start again (or start it,
// with an interval).
void DumperChildAfterFork();

// ---- implementation details -------------------------------------------
extern std::atomic<bool> g_lazy_start_armed;
void MaybeStartDumperSlow();

LT_ALWAYS_INLINE void MaybeStartDumper() {
  if (LT_UNLIKELY(g_lazy_start_armed.load(std::memory_order_relaxed))) MaybeStartDumperSlow();
}

}  // namespace leaktrace::preload
