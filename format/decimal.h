// Decimal digits of an unsigned number, without printf: the preload library
// formats its file names and its control block by hand (printf-style code
// would be the first, page-faulting, use of it in a short process). Must not
// allocate; async-signal-safe.
#pragma once

#include <cstddef>

namespace leaktrace::format {

// The digits of `v`, most significant first, into `out` (room for 20: any
// 64-bit value); returns how many. Not NUL-terminated.
inline size_t DecimalDigits(unsigned long long v, char* out) {
  char backwards[20];
  size_t n = 0;
  do {
    backwards[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = backwards[n - 1 - i];
  return n;
}

}  // namespace leaktrace::format
