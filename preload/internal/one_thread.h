// Whether the process has only ever run one thread: glibc's
// __libc_single_threaded (glibc 2.32 and later), set false by the first
// pthread_create (the C library's helper threads, and leaktrace's own
// dumper thread, included) and never set true again in that process.
//
// While it holds, the thread that reads it is the only one that can write
// leaktrace's shared totals, so a read-modify-write of them needs no lock
// prefix: the thread that makes a second thread reads false from then on,
// and the new thread does from its start. glibc's malloc and libstdc++'s
// reference counts rely on the same flag the same way. A signal handler of
// the same thread may interrupt such an update: each caller says why that
// loses nothing (or what a program that allocates in a handler, which the
// allocator does not allow either, may lose).
//
// Without the flag (another C library, or glibc before 2.32): false, the
// locked instructions as before.
#pragma once

#include "preload/internal/compiler.h"

extern "C" char __libc_single_threaded __attribute__((weak));

namespace leaktrace::preload {

// Async-signal-safe; two loads.
LT_ALWAYS_INLINE bool ProcessRunsOneThread() {
  return &__libc_single_threaded != nullptr && __libc_single_threaded != 0;
}

}  // namespace leaktrace::preload
