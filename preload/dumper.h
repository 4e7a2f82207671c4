// The dumper thread: the only place snapshots are taken while the program
// runs. The snapshot signal's handler just wakes it; it also wakes itself
// every LEAKTRACE_INTERVAL seconds.
#pragma once

namespace leaktrace::preload {

// Installs the signal handler and starts the thread. Constructor only (and a
// fork child).
void StartDumper();
// The dumper thread's kernel thread id (0 before it runs): the target for a
// thread-directed snapshot signal.
int DumperThreadId();

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

// Fork child: the thread is gone; start a new one.
void DumperChildAfterFork();

}  // namespace leaktrace::preload
