// A system call made here, not through syscall(3): leaktrace exports
// syscall (interpose/syscall_entry.S) and routes the program's
// syscall(SYS_close), syscall(SYS_close_range) and syscall(SYS_seccomp) to
// its hooks, which must not see leaktrace's own calls (a close of one of its
// private descriptors would be refused as the program's); and another
// preloaded library may define syscall and lock in it (format/raw_syscall.h
// says which). Async-signal-safe; never allocates.
#pragma once

#include "format/raw_syscall.h"

namespace leaktrace::preload {

// As syscall(3): the result, or -1 with errno set; up to six integer or
// pointer arguments.
using format::RawSyscall;

}  // namespace leaktrace::preload
