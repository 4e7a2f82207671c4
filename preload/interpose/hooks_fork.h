// The retry of a fork refused for a task slot (hooks_fork.cc).
#pragma once

#include <sys/types.h>

namespace leaktrace::preload {

// After a fork-like call returned `rc`: true when it was refused (-1,
// EAGAIN) on a program thread, not busy, and leaktrace's dumper thread has
// now given up its task slot (YieldDumperThreadToTheProgram): the caller
// makes the call again. errno is left as the call set it.
bool RetryForkRefused(pid_t rc);

}  // namespace leaktrace::preload
