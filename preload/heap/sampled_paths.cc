#include "preload/heap/sampled_paths.h"

#include <stdint.h>

#include "preload/heap/age_table.h"
#include "preload/heap/block_header.h"
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
//    is booked at, and the booking moves there (resize_record.h), with a
//    new birth in the block's age entry;
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
  const uint64_t capacity = h->capacity, before = h->offered;
  if (LT_UNLIKELY(t.busy != 0 || size > capacity || size < capacity - capacity / 4 || before == 0 ||
                  h->size <= kContinueAboveBytes || size <= kContinueAboveBytes))
    return ReallocateSampledBlock(p, size);
  if (h->weight > 0) {
    if (LT_UNLIKELY(h->stack_id == 0 || h->age_slot == 0)) return ReallocateSampledBlock(p, size);
    // The weight first: its division then runs while the stack is captured.
    const double weight =
        size > before ? GrownWeight(h->weight, before, size, g_config.sample_interval, g_config.sample_per_byte)
                      : h->weight;
    const uint32_t stack_id = CaptureExactAt<unwind_cache_internal::kSiteReallocSampled>(t).stack_id;
    // Another site (the general path captures again; the cache answers).
    if (LT_UNLIKELY(stack_id != h->stack_id)) return ReallocateSampledBlock(p, size);
    RecordResizeAtSite(t, stack_id, h->size, h->weight, size, weight);
    RewriteSampledBooking(h, stack_id, size, weight, size > before ? size : before);
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
