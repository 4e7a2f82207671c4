// The dumper thread: where snapshots are taken while the program runs. The
// snapshot signal's handler just wakes it; it also wakes itself every
// LEAKTRACE_INTERVAL seconds.
//
// When the thread starts. A snapshot must interrupt none of the program's
// calls, which only a thread of ours, waiting for the signal, can promise.
// But a second thread costs every process that never needs it: glibc's
// fork takes its multi-threaded path from then on (locks, resets, ~11 more
// page faults per fork), and an exec or exit must first kill and reap it
// (a wake-up on the other CPU). Most processes under leaktrace are a
// script's or a build's commands that exec or exit within milliseconds.
// So every process starts it lazily (attached ones at once), with
// LEAKTRACE_INTERVAL too (the thread is its timer: the first interval
// snapshot comes an interval after the thread's start). Started at once,
// it made a program that checks it is single-threaded before it sandboxes
// itself abort (chromium's zygote, and its fork children: /proc/self/task
// counted one thread too many). The thread starts:
//   - before the program first waits in a call that a signal handler would
//     cut short, restarted or not (sleep, poll, select, epoll_wait, pause,
//     sigsuspend, sem_wait and their kin: hooks_wait.cc). A process idle in
//     one of those has the thread, so a snapshot interrupts none of them.
//     But a program of one thread makes the sleeps, polls, selects and
//     epoll_waits in slices instead (SliceWaitInsteadOfStartingDumper), and
//     starts the thread between two slices once a reader asks for it;
//   - at the first tracked event (a sampled allocation, a descriptor or a
//     mapping recorded) once the process is kLazyStartMs old, when the
//     program runs threads of its own or has an interval. A program of one
//     thread that only runs keeps its one thread: glibc's stdio and malloc
//     skip their locks while a process has only ever had one (getc 14.5
//     times faster, bench/RESULTS.md);
//   - at the first tracked event after a snapshot signal found no thread,
//     or after `leaktrace snapshot` asked for it in the control block
//     (ReaderWantsDumperThread, looked at 10 ms apart at most);
//   - before the program sets its limit on processes (RLIMIT_NPROC), after
//     which no thread may start.
// Until then the control block says signal_tid=0 (a fork child has no block
// of its own: control_block.h, it holds its parent's), so `leaktrace
// snapshot` signals the process as a whole, and the handler writes that
// snapshot itself, on the thread the signal interrupted, when that thread is
// not inside leaktrace and no other dump is under way (else at the thread's
// start, or in the exit dump). The interrupted thread is then running, or
// waiting in a call the signal's SA_RESTART restarts unseen (read, accept,
// waitpid): the signal cuts short none of the waits above, since a process
// waiting in one has its thread (docs/preload.md).
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

#include <atomic>
#include <cstdint>

#include "preload/internal/compiler.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {

inline constexpr int kLazyStartMs = 100;

// Installs the signal handler and starts the thread (`at_once`: an attached
// process, or LEAKTRACE_INTERVAL) or arms its lazy start, counted from
// `born_ns` (CLOCK_MONOTONIC). Constructor only.
void StartDumper(bool at_once, int64_t born_ns);
// The dumper thread's kernel thread id (0 before it runs): the target for a
// thread-directed snapshot signal.
int DumperThreadId();
// What the control block says of the thread (signal_tid): its id once it
// runs; -1 while a thread that was started, or that start-up is about to
// start, has not yet published it, so that `leaktrace snapshot` waits for
// the id instead of signalling the process as a whole (which may cut one of
// the program's calls short); 0 when no thread is coming (a fork child's
// lazy start not yet due, no snapshot signal and no interval).
int DumperThreadIdForControlBlock();
// Start-up, before the control block is first written: whether StartDumper
// will start the thread at once (the block then says -1 until it runs).
// Constructor only.
void ExpectDumperThread(bool at_once);
// An address inside the dumper thread's stack, valid while DumperThreadId()
// is not 0: how a dump written on another thread (the exit dump) tells
// leaktrace's stack from the program's threads' without reading it from
// /proc (process_memory.cc).
uintptr_t DumperStackAddress();
// The memory the dumper thread's stack lives in (its TLS and thread
// descriptor at the top): part of the library's .bss, not a mapping of its
// own, so a dump measures this range, not the mapping that holds it.
void DumperStackRange(uintptr_t* begin, uintptr_t* end);
// True from the dumper thread's creation until it is joined (PauseDumper) or
// the process forks. While DumperThreadId() is still 0 the thread is alive:
// it publishes its id before anything else (a dump written at once, by a
// program that exits at start, must not count it as the program's).
bool DumperThreadCreated();

// Any thread, on a tracked event's slow path, not busy: starts the thread
// when the lazy start is due, unless the calling thread may be running a
// signal handler (MayBeInASignalHandler: pthread_create allocates, and the
// handler may have interrupted the allocator), in which case it is not
// tried again for 100 ms. One relaxed load when it is not armed.
inline void MaybeStartDumper();
// Any program thread, just before it waits in a call a signal handler would
// cut short (hooks_wait.cc): starts the thread now if it is still to come,
// and publishes that it is coming (signal_tid=-1), so that `leaktrace
// snapshot` waits for it rather than signal the process. Does nothing
// inside leaktrace (busy) or in a vfork child, and starts nothing from a
// signal handler (as MaybeStartDumper). One relaxed load when the lazy
// start is not armed; when armed, one walk of the thread's stack.
inline void StartDumperBeforeWait();

// Any program thread, just before a wait it can make in slices (a sleep,
// poll, select or epoll_wait: hooks_wait.cc, sliced_wait.h): true when the
// lazy start is armed in a process of one thread with no interval, and no
// snapshot signal is waiting for the thread. The wait is then made in
// slices (100 ms, doubling to 2 s) with a look between them for a reader's
// request (ServeRequestBetweenSlices), and the thread does not start: glibc
// keeps its one-thread shortcuts (stdio without locks, malloc without the
// arena lock, fork's one-thread path) in a program that only waits, as a
// server's single-threaded worker does. A reader's request is looked for
// here too (one pread, no more often than every 10 ms: a program that waits
// in short sleeps is never between slices), and then the thread starts and
// the answer is false. Otherwise as StartDumperBeforeWait, and false. One
// relaxed load when the lazy start is not armed.
inline bool SliceWaitInsteadOfStartingDumper();
// Between two slices of a wait, after one ended with nothing to report:
// starts the thread when a reader asked for it (ReaderWantsDumperThread:
// one pread) or a snapshot signal wants it. True when the thread runs or is
// coming (the wait's rest is then made in one call). Keeps errno.
bool ServeRequestBetweenSlices();

// Any program thread, just before the program sets its limit on processes
// (RLIMIT_NPROC: hooks_privileges.cc), after which no thread may start
// (haproxy's workers set it to 0): starts the thread now if it is still to
// come, after waiting for a start another thread has under way. Does
// nothing inside leaktrace (busy), in a vfork child or from a signal
// handler.
void StartDumperBeforeProcessLimit();

// Any program thread, not busy, after the program's pthread_create, fork or
// forkpty failed with EAGAIN (hooks_thread.cc, hooks_fork.cc): when the process's tasks are limited (a finite soft
// RLIMIT_NPROC: ulimit -u, a service's LimitNPROC) and the dumper thread
// runs, stops it for good, so that its task slot is the program's (a
// program making threads until refused got one fewer under leaktrace).
// Snapshots by signal are then written on the thread the signal interrupts
// (as when a start fails), and no interval snapshot comes. True when the
// thread was given up: the caller tries its call again (the kernel frees
// the slot a moment after the join: WaitForTheDumpersSlot).
bool YieldDumperThreadToTheProgram();

// After YieldDumperThreadToTheProgram returned true: `refused()` says
// whether the call made again was refused for want of a task slot. Waits
// 0.5 ms before each new try, 20 tries at most, while refused() holds.
template <typename Refused>
void WaitForTheDumpersSlot(Refused&& refused) {
  for (int i = 0; i < 20 && refused(); ++i) {
    const timespec pause = {0, 500 * 1000};
    RawSyscall(SYS_nanosleep, &pause, nullptr);  // no hook of ours in between
  }
}

// The process put its future children into another pid namespace (unshare
// or setns with CLONE_NEWPID: `unshare --pid --fork`, bwrap): from then on
// it can start no thread (the kernel refuses CLONE_THREAD, EINVAL). A thread
// not yet started is given up without a word (snapshots by signal are then
// written on the thread the signal interrupts, as when a start fails);
// nothing was asked of the program. Its fork children, inside the new
// namespace, start theirs as usual. Any thread.
void NoThreadsAfterPidNamespace();

// Whether the process running is the one the library's state describes
// (a child of a raw clone is made so, a child sharing its parent's memory is
// not: lifecycle.cc, IsTheTrackedProcess). The snapshot signal's handler
// asks it first, and answers no signal for a process that is not. Set once
// by start-up, before the handler is installed; the function must be
// async-signal-safe.
using ProcessCheck = bool (*)();
void SetProcessCheck(ProcessCheck check);

// Async-signal-safe: asks the dumper thread for a snapshot.
void RequestSnapshot();
// True when a snapshot was asked for (the snapshot signal) and not yet
// written: a fork child's signal that found no thread and no chance to
// write from the handler. Any thread.
bool SnapshotRequestPending();
// Stops taking periodic/signal snapshots (process exit). The thread is left
// waiting: the exit ends it.
void StopDumper();
// The snapshot signal belongs to the program whenever the program wants it,
// and while leaktrace has it the program cannot tell:
//  - ProgramSetsSnapshotSignal: the program's sigaction on the snapshot
//    signal (hooks_signal.cc). A query answers what the program would find
//    without leaktrace (the disposition at start, then what it set); setting
//    SIG_DFL is remembered and leaktrace's handler stays (a shell probing its
//    traps sets SIG_DFL and puts back what it found); a handler of its own or
//    SIG_IGN goes through, and leaktrace steps aside (one line on stderr). Returns false when the call is not about a
//    signal leaktrace holds (the hook forwards it); else true, with the
//    call's result in *rc.
//  - ProgramWaitsForSignals: the program reads signals synchronously
//    (signalfd, sigwait and friends) for a set holding the snapshot signal:
//    leaktrace steps aside and puts the program's disposition back, so the
//    signal stays pending for the program.
//  - ThisThreadHoldsSnapshotSignalBlocked: the calling program thread
//    starts (true) or stops (false) holding the snapshot signal blocked in
//    a set of a handful (sigprocmask, pthread_sigmask: hooks_signal.cc);
//    the thread's end stops it too (ThreadTrampoline: a worker that exits
//    with the signal blocked holds nothing any more), and a fork child's
//    one thread keeps the hold it forked with. That is how a
//    program starts taking signals for itself, and also how glibc's lookups
//    through systemd guard each lookup: not a claim by itself. While any
//    thread holds one, a snapshot signal sent to the whole process (kill,
//    not a tgkill to the dumper thread, nor a signal `leaktrace snapshot`
//    marked as its own: format::AskedByReader) is given back
//    to the program: leaktrace steps aside as above and raises it again,
//    so it is pending for the program, or acted on by a thread that does
//    not block it, as without leaktrace.
// Stepping aside also blocks the signal in the dumper thread, so the kernel
// no longer delivers it there. Then, once per process, snapshots move to a
// real-time signal at its default disposition (from SIGRTMAX down), which
// the control block publishes: `leaktrace snapshot` still reaches a program
// that owns SIGUSR2 (nginx's master). A program that takes that one too
// leaves snapshots by signal off. Any thread; not from a signal handler.
using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);
bool ProgramSetsSnapshotSignal(int sig, const struct sigaction* act, struct sigaction* old, SigactionFn next, int* rc);
void ProgramWaitsForSignals(const sigset_t* set);
void ThisThreadHoldsSnapshotSignalBlocked(bool holds);
bool ThisThreadHoldsSnapshotSignal();

// Around the program's privilege changes (setuid and friends, hooks_privileges.cc):
// glibc applies those to every thread and aborts if one thread cannot follow
// (per-thread capabilities, PR_SET_KEEPCAPS), so the dumper thread must not
// exist meanwhile. PauseDumper stops and joins it (waiting out a dump under
// way); ResumeDumper starts it again. Always called as a pair.
void PauseDumper();
void ResumeDumper();

// Before the program locks itself into a seccomp sandbox (hooks_sandbox.cc),
// while every system call is still allowed: snapshots are refused from now
// on (RefuseSnapshots), the snapshot signal goes back to the program (its
// disposition restored, no fallback signal), and the dumper thread is
// stopped for good (a lazy start disarmed), so that nothing of leaktrace's
// makes a system call the filter might punish. Tracking goes on in memory.
// Any thread but the dumper's; not from a signal handler.
void StopSnapshotsForSandbox();

// Fork child: the thread is gone; arm the lazy start again, counted from
// the fork (or start it, with an interval).
void DumperChildAfterFork();

// ---- implementation details -------------------------------------------
// The lazy start is armed: tracked events' slow paths check whether it is
// due (MaybeStartDumper: the process's age, or a snapshot signal that found
// no thread).
extern LT_HIDDEN std::atomic<bool> g_lazy_start_armed;
// The fast paths that skip MaybeStartDumper (exact mode's cached stacks, a
// sampled block resized at its site) take their slow paths while this is
// up, so every tracked event checks the lazy start. Up in a fork child for
// its whole lazy period (its exact-mode fast paths would learn, entry by
// entry, stacks the general path finds in the cache inherited from the
// parent: 35 more page faults per bash subshell, bench/RESULTS.md), its
// kLazyStartMs, and in any process once a snapshot signal, or a reader's
// request, found no thread. Otherwise the
// process's age alone does not raise it: a process whose every event takes
// a fast path starts the thread at its next slow-path event or wait
// (hooks_wait.cc).
extern LT_HIDDEN std::atomic<bool> g_every_event_checks_lazy_start;
void MaybeStartDumperSlow();
void StartDumperBeforeWaitSlow();
bool SliceWaitInsteadOfStartingDumperSlow();

LT_ALWAYS_INLINE void MaybeStartDumper() {
  if (LT_UNLIKELY(g_lazy_start_armed.load(std::memory_order_relaxed))) MaybeStartDumperSlow();
}
LT_ALWAYS_INLINE void StartDumperBeforeWait() {
  if (LT_UNLIKELY(g_lazy_start_armed.load(std::memory_order_relaxed))) StartDumperBeforeWaitSlow();
}
LT_ALWAYS_INLINE bool SliceWaitInsteadOfStartingDumper() {
  return LT_UNLIKELY(g_lazy_start_armed.load(std::memory_order_relaxed)) && SliceWaitInsteadOfStartingDumperSlow();
}

}  // namespace leaktrace::preload
