// The high-water mark of the tracked live heap: the report's "peak heap".
//
// The live heap is the sum of every recorded allocation minus every recorded
// free (weighted: in sampled mode each sampled block counts weight * size,
// the Horvitz-Thompson estimate). Its peak needs a process-wide total, which
// the malloc path must not pay a contended atomic for:
//
//  - Exact mode: each thread adds its net change to its own
//    t_state.heap_pending and moves it to the process-wide total only when
//    it reaches kPeakFlushBytes either way (or the thread exits). The total
//    then differs from the true live heap by less than kPeakFlushBytes per
//    thread at every instant, and the peak it reaches by as much either way:
//    the dump states that bound (memory figure heap_peak_error, kPeakFlushBytes
//    times the threads that have shards).
//  - Sampled mode: only sampled blocks are recorded, one in every
//    LEAKTRACE_SAMPLE bytes or so, and each goes to the total at once: the
//    peak is exactly the high-water mark of the estimate (bound 0). But for
//    one case: a sampled block resized in place at its site (a buffer grown
//    in steps, resize_record.h) nets a small change at every step, which
//    waits like exact mode's rather than cost every step two contended
//    atomics. A shard that ever did so is counted (CountBatchingShard), and
//    the bound is kPeakFlushBytes times those: 0 in a program that never
//    grows a sampled block in place. The next change flushed at once, or the
//    thread's exit, takes what waits along.
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
// for its allocation and its free. `size` is below 2^63 (a real block's),
// converted as a signed number (one instruction).
LT_ALWAYS_INLINE int64_t PeakShare(uint64_t size, double weight) {
  return static_cast<int64_t>(weight * static_cast<double>(static_cast<int64_t>(size)) + 0.5);
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

// Sampled mode: `shard` batches resizes from now on (heap_peak.h); counted
// once per shard, for the bound. Owner thread only.
void CountBatchingShard(Shard& shard);
// How many shards did (the dump's heap_peak_error in sampled mode).
uint32_t BatchingShards();

// The highest total seen so far (bytes), for the dump.
int64_t HeapPeakBytes();
// Raises the peak to at least `live` (the dump's own sum of the sites).
void RaiseHeapPeak(int64_t live);

}  // namespace leaktrace::preload
