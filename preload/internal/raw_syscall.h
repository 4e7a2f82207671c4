// A system call made here, not through syscall(3): leaktrace exports
// syscall (interpose/syscall_entry.S) and routes the program's
// syscall(SYS_close), syscall(SYS_close_range) and syscall(SYS_seccomp) to
// its hooks, which must not see leaktrace's own calls (a close of one of its
// private descriptors would be refused as the program's). x86-64 only, as
// syscall_entry.S. Async-signal-safe; never allocates.
#pragma once

#include <errno.h>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

// As syscall(3): the result, or -1 with errno set.
LT_ALWAYS_INLINE long RawSyscall(long number, long a = 0, long b = 0, long c = 0) {
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  if (static_cast<unsigned long>(result) > -4096UL) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
}

}  // namespace leaktrace::preload
