// The high-water mark of the tracked live heap: the report's "peak heap".
//
// The live heap is the sum of every recorded allocation minus every recorded
// free (weighted: in sampled mode each sampled block counts weight * size,
// the Horvitz-Thompson estimate). Its peak needs a process-wide total, which
// the malloc path must not pay a contended atomic for:
//
// Each thread adds its net change to its own t_state.heap_pending and moves
// it to the process-wide total only when it reaches kPeakFlushBytes either
// way (or the thread exits). The total then differs from the live heap by
// less than kPeakFlushBytes per thread at every instant, and the peak it
// reaches by as much either way: the dump states that bound (memory figure
// heap_peak_error, kPeakFlushBytes times the threads that have shards). In
// sampled mode a sampled allocation or free weighs about LEAKTRACE_SAMPLE
// bytes or more and goes to the total at once; what waits there is the
// small net change of a sampled block's realloc (a buffer grown in steps),
// which would otherwise cost every step two contended atomics.
#pragma once

#include <atomic>
#include <cstdint>

#include "preload/internal/compiler.h"
#include "preload/record/thread_state.h"

namespace leaktrace::preload {

inline constexpr int64_t kPeakFlushBytes = 64 * 1024;

// Moves `pending` into the process-wide total and raises the peak. Out of line.
void FlushHeapPending(int64_t pending);

// The block's share of the live heap: weight * size, rounded the same way
// for its allocation and its free.
LT_ALWAYS_INLINE int64_t PeakShare(uint64_t size, double weight) {
  return static_cast<int64_t>(weight * static_cast<double>(size) + 0.5);
}

// A recorded allocation (+) or free (-) of `bytes` (PeakShare, or the
// difference of two). `threshold`: kPeakFlushBytes, or 0 on a thread past
// its exit (no exit flush to come).
LT_ALWAYS_INLINE void NoteHeapChange(ThreadState& t, int64_t bytes, int64_t threshold) {
  const int64_t pending = t.heap_pending + bytes;
  if (LT_LIKELY(pending < threshold && pending > -threshold)) {
    t.heap_pending = pending;
    return;
  }
  t.heap_pending = 0;
  FlushHeapPending(pending);
}

// At thread exit: what the thread still holds goes to the total.
inline void FlushThreadHeapPending(ThreadState& t) {
  const int64_t pending = t.heap_pending;
  t.heap_pending = 0;
  if (pending != 0) FlushHeapPending(pending);
}

// The highest total seen so far (bytes), for the dump.
int64_t HeapPeakBytes();
// Raises the peak to at least `live` (the dump's own sum of the sites).
void RaiseHeapPeak(int64_t live);

}  // namespace leaktrace::preload
