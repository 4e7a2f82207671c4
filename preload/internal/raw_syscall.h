// A system call made here, not through syscall(3): leaktrace exports
// syscall (interpose/syscall_entry.S) and routes the program's
// syscall(SYS_close), syscall(SYS_close_range) and syscall(SYS_seccomp) to
// its hooks, which must not see leaktrace's own calls (a close of one of its
// private descriptors would be refused as the program's). x86-64 only, as
// syscall_entry.S. Async-signal-safe; never allocates.
#pragma once

#include <errno.h>

#include <type_traits>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

// As syscall(3): the result, or -1 with errno set. Up to six arguments,
// integers or pointers. Never through the exported syscall symbol, which
// another preloaded library may define and lock in (cwrap's uid_wrapper:
// its destructor holds its mutex and calls dlclose, whose hook here mapped
// memory through syscall(3), back into uid_wrapper and its mutex: every
// program hung at exit).
template <typename T>
LT_ALWAYS_INLINE long SyscallArgument(T value) {
  if constexpr (std::is_null_pointer_v<T>) {
    return 0;
  } else if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<long>(value);
  } else {
    return static_cast<long>(value);
  }
}

LT_ALWAYS_INLINE long RawSyscall6(long number, long a, long b, long c, long d, long e, long f) {
  long result;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  if (static_cast<unsigned long>(result) > -4096UL) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
}

template <typename... Args>
LT_ALWAYS_INLINE long RawSyscall(long number, Args... args) {
  static_assert(sizeof...(Args) <= 6, "a system call takes six arguments at most");
  long a[6] = {SyscallArgument(args)...};
  return RawSyscall6(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

}  // namespace leaktrace::preload
