#include "preload/heap/growing_block.h"

#include "preload/heap/age_table.h"
#include "preload/heap/block_header.h"
#include "preload/heap/sampler.h"
#include "preload/internal/config.h"
#include "preload/internal/one_thread.h"
#include "preload/record/heap_peak.h"
#include "preload/record/resize_record.h"
#include "preload/record/shard.h"
#include "preload/record/thread_state.h"

namespace leaktrace::preload {

void SettleGrowingBlock(ThreadState& t, bool alive) {
  GrowingBlock& g = t.growing;
  SampledHeader* const h = g.header;
  if (h == nullptr) return;
  g.header = nullptr;
  if (g.steps == 0) return;  // nothing waits: the header is as booked
  SiteCounters& c = *g.counters;
  Shard& shard = *g.shard;
  // Another thread may have freed a block this thread does not hold now;
  // none can while the process has only ever run this one (this thread's
  // own frees book its steps first: heap_paths.cc, UnrecordSampled).
  // The block's live change is booked only when it can be read and still
  // holds a step's size: its last step's (usable_extra, which every waiting
  // step sets to what it asked beyond the booked size, whichever thread made
  // it). A header booked anew since (another thread's realloc: usable_extra
  // unknown, or another site) holds nothing of the batch: its turnover alone.
  if ((!alive && !ProcessRunsOneThread()) || h->stack_id != g.stack_id || h->usable_extra == kUsableUnknown) {
    CountSampledSteps(c, 0, g.weight, 0, g.weight, g.steps, g.step_bytes);
  } else {
    // The header as booked, grown to the last step's size: the weight for
    // the bytes it was never offered (continued, as ReallocSampled's
    // steps continue it), the birth kept.
    const uint64_t old_size = h->size, before = h->offered, size = h->size + h->usable_extra;
    const double old_weight = h->weight;
    const double weight =
        size > before ? GrownWeight(old_weight, before, size, g_config.sample_interval, g_config.sample_per_byte)
                      : old_weight;
    CountSampledSteps(c, old_size, old_weight, size, weight, g.steps, g.step_bytes);
    NoteHeapChange(t, PeakShare(size, weight) - PeakShare(old_size, old_weight), kPeakFlushBytes);
    h->size = size;
    h->weight = weight;
    if (size > before) h->offered = size;
    h->usable_extra = kUsableUnknown;  // measured when asked for (heap_paths.cc, UsableOf)
    AgeTableRebook(h->age_slot, size, weight, h->birth_ns);
  }
  shard.events.store(shard.events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

}  // namespace leaktrace::preload
