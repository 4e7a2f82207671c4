#include "preload/heap/sampled_paths.h"

#include <stdint.h>

#include "preload/heap/age_table.h"
#include "preload/heap/block_header.h"
#include "preload/heap/growing_block.h"
#include "preload/heap/heap_paths.h"
#include "preload/heap/sampler.h"
#include "preload/internal/compiler.h"
#include "preload/internal/config.h"
#include "preload/record/exact_record.h"
#include "preload/record/resize_record.h"
#include "preload/record/thread_state.h"

namespace leaktrace::preload {

// What ReallocateSampled (heap_paths.cc) does for a block whose capacity
// holds `size` (at least 3/4 of it: no real resize) and whose sampling
// decision continues (DecideRealloc: from more than kContinueAboveBytes to
// more than that, after a decision made by realloc), in the two common
// cases:
//  - sampled: it stays sampled, its weight grown for the bytes it was never
//    offered (GrownWeight); the realloc's stack must be the site the block
//    is booked at, and the booking moves there (resize_record.h), at the
//    counters the unwind cache keeps for that stack, in the lookup's busy
//    scope, its age entry rewritten (the birth kept: a realloc keeps it);
//  - unsampled: the growth holds no point of the sampling line, and only
//    the header's sizes change (nothing was booked, nothing is).
// Not inlined nor cloned: it holds the unwind cache's lookup for its own
// place (unwind_cache_lookup.h), which must live in one function.
LT_NOINLINE __attribute__((noclone)) void* ReallocSampled(void* p, size_t size) {
  ThreadState& t = t_state;
  if (LT_UNLIKELY(p == nullptr || !MaybeSampled(p) || !IsSampledBlock(p))) return ReallocateSlow(p, size);
  // From here on the block is known to be sampled: the general path of
  // such a block (ReallocateSampledBlock) needs no second look at it.
  SampledHeader* h = SampledHeaderOf(p);
  // The thread's growing block (growing_block.h): a step from the same
  // place in the program, not past the batch's end nor the capacity, waits
  // to be booked with the batch; anything else books the batch first.
  GrowingBlock& g = t.growing;
  const uintptr_t key = unwind_cache_internal::LookupKey<unwind_cache_internal::kSiteReallocSampled>();
  if (g.header == h) {
    // A step grows the block from its last size, whichever thread made it
    // (the header's size and what a waiting step put in usable_extra), so
    // the last step is the most the block was offered; within
    // kGrowingBatchMaxBytes of the booked size, which usable_extra holds.
    const uint64_t last = h->size + (h->usable_extra != kUsableUnknown ? h->usable_extra : 0);
    if (LT_LIKELY(size >= last && size - h->size < kGrowingBatchMaxBytes && size < g.settle_at &&
                  size <= h->capacity && h->stack_id == g.stack_id &&
                  g.steps < kGrowingBatchMaxSteps && t.busy == 0 &&
                  !g_every_event_checks_lazy_start.load(std::memory_order_relaxed) &&
                  unwind_cache_internal::StillHits(*g.way, g.entry, key))) {
      ++g.steps;
      g.step_bytes += size;
      h->usable_extra = static_cast<uint32_t>(size - h->size);  // the program is told what it asked
      return p;
    }
    SettleGrowingBlock(t, /*alive=*/true);
  }
  const uint64_t capacity = h->capacity, before = h->offered;
  if (LT_UNLIKELY(t.busy != 0 || size > capacity || size < capacity - capacity / 4 || before == 0 ||
                  h->size <= kContinueAboveBytes || size <= kContinueAboveBytes))
    return ReallocateSampledBlock(p, size);
  if (h->weight > 0) {
    Shard* const shard = t.shard;
    if (LT_UNLIKELY(h->stack_id == 0 || h->age_slot == 0 || !kUnwindCacheAvailable || shard == nullptr ||
                    g_every_event_checks_lazy_start.load(std::memory_order_relaxed)))
      return ReallocateSampledBlock(p, size);
    // The weight first: its division then runs while the stack is captured.
    const double old_weight = h->weight;
    const double weight = size > before
                              ? GrownWeight(old_weight, before, size, g_config.sample_interval, g_config.sample_per_byte)
                              : old_weight;
    ++t.busy;  // libunwind may allocate when the cache misses
    unwind_cache_internal::Way* way;
    const ExactCapture capture = unwind_cache_internal::LookupStackIdAt(*shard, shard->unwind_cache, key, &way);
    SiteCounters* c = capture.counters != nullptr ? *capture.counters : nullptr;
    if (LT_UNLIKELY(c == nullptr) && capture.counters != nullptr && capture.stack_id != 0) {
      // Where the cache keeps the site's counters, once they exist.
      c = shard->IndexedCounters(capture.stack_id);
      *capture.counters = c;
    }
    // Another site, or no counters at hand: the general path (it captures
    // again; the cache answers).
    if (LT_UNLIKELY(c == nullptr || capture.stack_id != h->stack_id)) {
      --t.busy;
      return ReallocateSampledBlock(p, size);
    }
    CountSampledResizeAt(t, *shard, *c, h->size, old_weight, size, weight);
    --t.busy;
    // RewriteSampledBooking, the stack id and the birth kept.
    h->size = size;
    h->weight = weight;
    h->offered = size > before ? size : before;
    h->usable_extra = kUsableUnknown;  // measured when asked for (heap_paths.cc, UsableOf)
    AgeTableRebook(h->age_slot, size, weight, h->birth_ns);
    // The next steps from here wait for a batch (another block's first),
    // when the cache can tell them from this stack at once.
    if (g.header != nullptr) SettleGrowingBlock(t, /*alive=*/false);
    if (way == nullptr) return p;
    const uint64_t batch = size / kGrowingBatchPart;
    g = {.header = h,
         .counters = c,
         .shard = shard,
         .way = way,
         .entry = way->entry,
         .key = key,
         .weight = weight,
         .settle_at = size + (batch == 0 ? 1 : batch < kGrowingBatchMaxBytes ? batch : kGrowingBatchMaxBytes),
         .step_bytes = 0,
         .steps = 0,
         .stack_id = h->stack_id};
    return p;
  }
  // A point in the growth: a fresh sample, on the slow path (the countdown
  // is left as it was).
  if (size > before && !TryRecord(t.sampler, size - before)) return ReallocateSampledBlock(p, size);
  h->size = size;
  if (size > before) h->offered = size;
  h->usable_extra = kUsableUnknown;  // measured when asked for (heap_paths.cc, UsableOf)
  return p;
}

}  // namespace leaktrace::preload
