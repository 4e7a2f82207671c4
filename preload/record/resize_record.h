// The booking of a sampled block's realloc that stays at its site (a
// buffer grown in steps at one call site, the block sampled before and
// after), inline: the free of the old size and the allocation of the new one
// that RecordRealloc (tracker.h) books, in one pass over the site's counters.
//
// Contract: the calling thread holds a busy scope where said; the
// counters are those of the thread's own shard. Never allocates.
#pragma once

#include <cstdint>

#include "preload/internal/compiler.h"
#include "preload/record/heap_peak.h"
#include "preload/record/shard.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"

namespace leaktrace::preload {

// Sampled mode's figures (weighted sums, shard.h) of a free of `old_size`
// with `old_weight` and an allocation of `size` with `weight` on the same
// counters: Count(old, freed) then Count(new) of tracker.cc, the variance
// terms w(w - 1) netted before they are added; the live samples do not
// change. Sizes are below 2^63 (the size of a real block), converted as
// signed numbers: one instruction each.
LT_ALWAYS_INLINE void CountSampledResize(SiteCounters& c, uint64_t old_size, double old_weight, uint64_t size,
                                         double weight) {
  const double old_bytes = static_cast<double>(static_cast<int64_t>(old_size));
  const double bytes = static_cast<double>(static_cast<int64_t>(size));
  Bump(c.free_count, old_weight);
  Bump(c.free_bytes, old_weight * old_bytes);
  Bump(c.alloc_count, weight);
  Bump(c.alloc_bytes, weight * bytes);
  if (weight > 1 || old_weight > 1) {
    const double v = weight > 1 ? weight * (weight - 1) : 0;
    const double old_v = old_weight > 1 ? old_weight * (old_weight - 1) : 0;
    Bump(c.var_count, v - old_v);
    Bump(c.var_bytes, v * bytes * bytes - old_v * old_bytes * old_bytes);
  }
}

// A batch of `steps` in-place growths of one sampled block at one site
// (growing_block.h), from `old_size` with `old_weight` (what was booked) to
// `size` with `weight`, the steps' sizes summing to `step_bytes`: what
// CountSampledResize of each step would have booked, each step's weight
// taken as the mean of the batch's first and last. The live figures change
// exactly as the steps would have changed them (their frees and
// allocations cancel but for the block's new share); `size` == `old_size`
// and `weight` == `old_weight` books the turnover alone (a block that may be
// gone: nothing live changes).
LT_ALWAYS_INLINE void CountSampledSteps(SiteCounters& c, uint64_t old_size, double old_weight, uint64_t size,
                                        double weight, uint32_t steps, uint64_t step_bytes) {
  const double old_bytes = static_cast<double>(static_cast<int64_t>(old_size));
  const double bytes = static_cast<double>(static_cast<int64_t>(size));
  const double mean_weight = 0.5 * (old_weight + weight);
  const double count = mean_weight * steps;
  const double turnover = mean_weight * static_cast<double>(static_cast<int64_t>(step_bytes));
  Bump(c.alloc_count, count);
  Bump(c.alloc_bytes, turnover);
  Bump(c.free_count, count - (weight - old_weight));
  Bump(c.free_bytes, turnover - (weight * bytes - old_weight * old_bytes));
  if (weight > 1 || old_weight > 1) {
    const double v = weight > 1 ? weight * (weight - 1) : 0;
    const double old_v = old_weight > 1 ? old_weight * (old_weight - 1) : 0;
    Bump(c.var_count, v - old_v);
    Bump(c.var_bytes, v * bytes * bytes - old_v * old_bytes * old_bytes);
  }
}

// Either mode's: exact mode's figures (whole numbers, shard.h) are
// CountExactResize's (exact_record.h); RecordRealloc books them here.
LT_ALWAYS_INLINE void CountResize(SiteCounters& c, uint64_t old_size, double old_weight, uint64_t size,
                                  double weight) {
  if (ExactFigures()) {
    BumpWhole(c.free_count, 1);
    BumpWhole(c.free_bytes, old_size);
    BumpWhole(c.alloc_count, 1);
    BumpWhole(c.alloc_bytes, size);
    return;
  }
  CountSampledResize(c, old_size, old_weight, size, weight);
}

// A sampled block's realloc at its site booked at the site's counters `c`
// in the thread's shard `shard`, the thread busy (the caller's scope, which
// also holds the lookup that found `c`): the figures, the shard's event,
// and the net change of the heap total, batched (heap_peak.h).
LT_ALWAYS_INLINE void CountSampledResizeAt(ThreadState& t, Shard& shard, SiteCounters& c, uint64_t old_size,
                                           double old_weight, uint64_t size, double weight) {
  CountSampledResize(c, old_size, old_weight, size, weight);
  shard.events.store(shard.events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  if (LT_UNLIKELY(!shard.batches_resizes)) CountBatchingShard(shard);
  NoteHeapChange(t, PeakShare(size, weight) - PeakShare(old_size, old_weight), kPeakFlushBytes);
}

}  // namespace leaktrace::preload
