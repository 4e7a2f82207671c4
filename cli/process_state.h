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

}  // namespace leaktrace::cli
