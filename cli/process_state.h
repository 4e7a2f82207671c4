// A process's run state as the kernel reports it (/proc/PID/stat), for the
// commands that wait on a process: a zombie never writes anything and a
// stopped process writes nothing until it runs again, and the user should
// hear that rather than a timeout or a missing /proc entry.
#pragma once

#include <sys/types.h>

#include <string>

namespace leaktrace::cli {

// The state letter ('R', 'S', 'D', 'Z', 'T', 't' ...), or '\0' when the
// process is gone or its stat is unreadable.
char ProcessState(pid_t pid);

// Why a process in `state` cannot answer now, or "" when it can:
// "process 123 has exited (a zombie its parent has not reaped yet)" for
// 'Z'; "process 123 is stopped (SIGSTOP, or a debugger holds it)" for 'T'
// and 't'.
std::string StateObstacle(pid_t pid, char state);

// The process's id as it knows itself (getpid() inside its own pid
// namespace: the last field of NSpid in /proc/PID/status), which is what
// its library writes into its control block and its dump names. `pid`
// itself outside a pid namespace, or when that line cannot be read.
pid_t PidInOwnNamespace(pid_t pid);

// Thread `tid` of `pid` as it knows itself (the last field of NSpid, what
// its library writes into its control block) made the id we signal it by:
// `tid` itself when the process is in our pid namespace; 0 when no thread
// of it has that id (it has exited).
pid_t TidInOurNamespace(pid_t pid, pid_t tid);

// True when every thread of `pid` has signal `sig` blocked (SigBlk in
// /proc/PID/task/TID/status); false when one does not, or none can be read.
bool EveryThreadBlocks(pid_t pid, int sig);

// The thread of `pid` to send the snapshot signal `sig` to when its
// library has no dumper thread yet (docs/preload.md, "Snapshots"): sent to
// one thread (tgkill, or marked as `leaktrace snapshot`'s), the library
// takes it for a snapshot, never for the program's own signal (a process-directed one, while a program thread
// holds the signal blocked, is handed back to the program, whose default
// action for SIGUSR2 ends it). Among the threads that do not block `sig`:
// one waiting in a call the kernel restarts after the handler (read,
// accept, waitpid and their kin: there the library starts its dumper
// thread), then one seen busy in its own code: "running" at 20 looks over
// 20 ms, with no sleep meanwhile and 2 ms on a CPU ("running" alone may be
// inside a call, a write copying its data or one woken and waiting for a
// CPU, which the signal would cut short), then the main thread, then any;
// the main thread when every thread blocks it
// (the signal then waits until it unblocks). What a thread waits in is read
// from /proc/PID/task/TID/syscall, which needs the access a debugger needs;
// without it, a running thread is told by its state alone.
struct ThreadChoice {
  pid_t tid = 0;             // 0: /proc/PID/task cannot be read
  bool cuts_short = false;   // every candidate is known to wait in a call the signal would cut short
  std::string waiting_in;    // then the call, e.g. "write" or "system call 220"
};
ThreadChoice ThreadToSignal(pid_t pid, int sig);

}  // namespace leaktrace::cli
