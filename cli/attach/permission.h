// Why this process may not ptrace another, in words a user can act on.
#pragma once

#include <sys/types.h>

#include <string>

namespace leaktrace::cli::attach {

// "" when nothing visible forbids attaching to `pid`; else the one-line
// reason: Yama ptrace_scope, another user's process, a process that is not
// dumpable (PR_SET_DUMPABLE 0, setuid). Checked before any ptrace call.
std::string PtraceObstacle(pid_t pid);

// The reason for an EPERM from PTRACE_SEIZE (PtraceObstacle, else a
// generic one naming the usual causes).
std::string ExplainPtraceDenied(pid_t pid);

}  // namespace leaktrace::cli::attach
