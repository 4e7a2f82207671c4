// The clock births are taken on where a precise one costs too much for the
// path (a block's allocation, a descriptor's open): CLOCK_MONOTONIC_COARSE,
// a tick of 1-4 ms, enough for ages compared in seconds. It never runs
// ahead of CLOCK_MONOTONIC, which the dumper reads as "now", so no age comes
// out negative. A few ns through the vDSO, where CLOCK_MONOTONIC costs about
// 20 (a tenth of what leaktrace added to an open+close).
#pragma once

#include <time.h>

#include <cstdint>

#include "preload/internal/kernel_clock.h"

namespace leaktrace::preload {

// Async-signal-safe; never allocates.
inline uint64_t CoarseMonotonicNs() {
  return static_cast<uint64_t>(KernelClockNs(CLOCK_MONOTONIC_COARSE));
}

}  // namespace leaktrace::preload
