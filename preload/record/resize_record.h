// The booking of a sampled block's realloc that stays at its site (a
// buffer grown in steps at one call site, the block sampled before and
// after), inline: the free of the old size and the allocation of the new one
// that RecordRealloc (tracker.h) books, in one pass over the site's counters.
//
// Contract: the calling thread is not busy; `stack_id` is not 0. The inline
// part touches only the thread's own shard and never allocates.
#pragma once

#include <cstdint>

#include "preload/internal/compiler.h"
#include "preload/record/heap_peak.h"
#include "preload/record/shard.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"

namespace leaktrace::preload {

// Count(old, freed) then Count(new) of tracker.cc on the same counters: the
// variance terms w(w - 1) are netted before they are added, and the live
// samples do not change.
// Exact mode's figures (whole numbers, shard.h) are CountExactResize's
// (exact_record.h): RecordRealloc books them here in either mode.
LT_ALWAYS_INLINE void CountResize(SiteCounters& c, uint64_t old_size, double old_weight, uint64_t size,
                                  double weight) {
  if (ExactFigures()) {
    BumpWhole(c.free_count, 1);
    BumpWhole(c.free_bytes, old_size);
    BumpWhole(c.alloc_count, 1);
    BumpWhole(c.alloc_bytes, size);
    return;
  }
  const double old_bytes = static_cast<double>(old_size), bytes = static_cast<double>(size);
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

// RecordRealloc(t, stack_id, old_size, old_weight, stack_id, size, weight),
// short when the thread's shard finds the site at the first probe; the heap
// total's change is batched (heap_peak.h says how that is bounded). The
// counters move inside a busy scope, as in tracker.cc: a signal handler
// that allocates on this thread meanwhile is not booked into the same
// counters between a load and its store.
LT_ALWAYS_INLINE void RecordResizeAtSite(ThreadState& t, uint32_t stack_id, uint64_t old_size, double old_weight,
                                         uint64_t size, double weight) {
  Shard* shard = t.shard;
  SiteCounters* c = shard != nullptr ? shard->IndexedCounters(stack_id) : nullptr;
  if (LT_UNLIKELY(c == nullptr)) return RecordRealloc(t, stack_id, old_size, old_weight, stack_id, size, weight);
  ++t.busy;
  CountResize(*c, old_size, old_weight, size, weight);
  shard->events.store(shard->events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  // The small net change waits in the thread's pending total (heap_peak.h).
  if (LT_UNLIKELY(!shard->batches_resizes)) CountBatchingShard(*shard);
  NoteHeapChange(t, PeakShare(size, weight) - PeakShare(old_size, old_weight), kPeakFlushBytes);
  --t.busy;
}

}  // namespace leaktrace::preload
