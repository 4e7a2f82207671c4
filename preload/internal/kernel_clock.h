// The kernel's clocks, read past whatever defines clock_gettime in the
// program: leaktrace's own timing (interval deadlines, ages, the lazy
// start, dump times) must follow the kernel's clocks, not one a library
// fakes (libfaketime: a monotonic clock set years ahead kept the interval
// thread waiting for ever), and reading one must run no other library's
// code from inside leaktrace (libfaketime, entered from a leaktrace hook
// during its own initialisation, printed a recursion warning on the
// program's stderr).
//
// Through the vDSO's own function, as the C library does, found once in the
// vDSO's symbol table (getauxval(AT_SYSINFO_EHDR)); without a vDSO, by the
// system call itself. Async-signal-safe; never allocates.
#pragma once

#include <time.h>

#include <cstdint>

namespace leaktrace::preload {

int KernelClockGettime(clockid_t clock, timespec* ts);

// CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE and CLOCK_REALTIME in nanoseconds.
int64_t KernelClockNs(clockid_t clock);

}  // namespace leaktrace::preload
