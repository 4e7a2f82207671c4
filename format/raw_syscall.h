// A system call made by the caller itself, not through syscall(3): the
// library (libleaktrace.so) exports that symbol to route the program's
// raw closes and seccomp calls to its hooks, and another preloaded library
// may define it and take a lock in it (cwrap's uid_wrapper: its destructor
// holds its mutex and calls dlclose, whose hook mapped memory through
// syscall(3), back into uid_wrapper and its mutex: every program hung at
// exit). Used by leaktrace's own memory (raw_mmap.cc) and, through
// preload/internal/raw_syscall.h, by the whole library.
//
// As syscall(3): the result, or -1 with errno set. Up to six arguments,
// integers or pointers. x86-64 by inline assembly; elsewhere syscall(3).
// Async-signal-safe; never allocates.
#pragma once

#include <errno.h>
#include <unistd.h>

#include <type_traits>

namespace leaktrace::format {

template <typename T>
inline long SyscallArgument(T value) {
  if constexpr (std::is_null_pointer_v<T>) {
    return 0;
  } else if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<long>(value);
  } else {
    return static_cast<long>(value);
  }
}

__attribute__((always_inline)) inline long RawSyscall6(long number, long a, long b, long c, long d, long e,
                                                        long f) {
#if defined(__x86_64__)
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
#else
  return syscall(number, a, b, c, d, e, f);
#endif
}

template <typename... Args>
__attribute__((always_inline)) inline long RawSyscall(long number, Args... args) {
  static_assert(sizeof...(Args) <= 6, "a system call takes six arguments at most");
  long a[6] = {SyscallArgument(args)...};
  return RawSyscall6(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

}  // namespace leaktrace::format
