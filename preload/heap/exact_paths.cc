#include "preload/heap/exact_paths.h"

#include <stdint.h>

#include "preload/heap/age_table.h"
#include "preload/heap/block_header.h"
#include "preload/heap/heap_paths.h"
#include "preload/internal/compiler.h"
#include "preload/internal/health.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/exact_record.h"
#include "preload/record/thread_state.h"

namespace leaktrace::preload {

namespace {

// A malloc's header: the block kExactHeaderBytes (2^4) after its real start.
static_assert(kExactHeaderBytes == 16);
constexpr uint8_t kMallocOffsetTag = ExactOffsetTag(4);

// ++t.busy and --t.busy around a lookup, each one add to the count in
// memory that the compiler does not follow: it then keeps no copy of the
// count in a register across the lookup (which it spilled and reloaded).
LT_ALWAYS_INLINE void EnterBusy(ThreadState& t) {
#if defined(__x86_64__)
  __asm__ volatile("addl $1, %0" : "+m"(t.busy));
#else
  ++t.busy;
#endif
}
LT_ALWAYS_INLINE void LeaveBusy(ThreadState& t) {
#if defined(__x86_64__)
  __asm__ volatile("subl $1, %0" : "+m"(t.busy));
#else
  --t.busy;
#endif
}

}  // namespace

// Not inlined nor cloned: each holds the unwind cache's lookup for its own
// place (unwind_cache_lookup.h), which must live in one function.
// The real allocation comes first, so the lookup and the booking share one
// busy scope and the values live across the allocator's call are few (no
// spills around the lookup).
LT_NOINLINE __attribute__((noclone)) void* MallocExact(size_t size, bool zero) {
  ThreadState& t = t_state;
  size_t total;
  // Busy: untracked, with a header (AllocateSlow). Overflow: ENOMEM there.
  if (LT_UNLIKELY(t.busy != 0 || __builtin_add_overflow(size, kExactHeaderBytes, &total)))
    return AllocateSlow(size, zero);
  char* base = static_cast<char*>(zero ? real.calloc(1, total) : real.malloc(total));
  if (LT_UNLIKELY(base == nullptr)) return nullptr;
  void* p = base + kExactHeaderBytes;
  uint32_t stack_id;
  Shard* shard = t.shard;
  if (LT_LIKELY(kUnwindCacheAvailable && shard != nullptr && !g_lazy_start_armed.load(std::memory_order_relaxed))) {
    // CaptureExactAt and RecordAllocExact in one busy scope (libunwind may
    // allocate when the cache misses; exact_record.h says why the counters
    // move inside one).
    EnterBusy(t);
    const ExactCapture capture =
        unwind_cache_internal::LookupStackId<unwind_cache_internal::kSiteMallocExact>(*shard, shard->unwind_cache);
    stack_id = capture.stack_id;
    SiteCounters* const c = capture.counters != nullptr ? *capture.counters : nullptr;
    if (LT_LIKELY(c != nullptr)) {  // counters are only ever cached for a booked stack: stack_id != 0
      CountExact(t, *shard, *c, size, /*freed=*/false);
      LeaveBusy(t);
    } else {
      LeaveBusy(t);
      if (stack_id != 0) RecordAllocExact(t, stack_id, size, capture.counters);
    }
  } else {
    stack_id = CaptureStackId(t);
    if (stack_id != 0) RecordAllocExact(t, stack_id, size);
  }
  ExactHeader* h = ExactHeaderOf(p);
  StoreExactHeader(*h, size, stack_id, 0, kMallocOffsetTag);
  if (LT_LIKELY(stack_id != 0)) {
    if (const uint32_t slot = MaybeAgeExact(t, p, stack_id, size); LT_UNLIKELY(slot != 0))
      StoreExactHeader(*h, size, stack_id, slot, kMallocOffsetTag);
  }
  return p;
}

// FreeExact's every other case, `word` the header word it read: what the
// real free follows (the block's age entry, its booking) for blocks that
// are aged, not booked at a stack, or freed by a thread that is busy, has
// no shard or finds the site's counters past the first probe. Blocks that
// are not exact mode's go to FreeSlow.
namespace {

LT_NOINLINE void FreeExactSlow(void* p, uint64_t word) {
  // Not tagged: a bootstrap block, or one the real allocator handed out
  // directly (block_header.h, kExactTag).
  if (!IsExactWord(word)) return FreeSlow(p);
  if (const uint32_t slot = AgeSlotOfWord(word); slot != 0) AgeTableRemove(slot);
  if (const uint32_t stack_id = StackIdOfWord(word); stack_id != 0) {
    ThreadState& t = t_state;
    // Booked before the real free: the address cannot be reused in between.
    if (t.busy == 0) RecordFreeExact(t, stack_id, ExactHeaderOf(p)->size);
    else g_health.busy_frees.fetch_add(1, std::memory_order_relaxed);
  }
  real.free(static_cast<char*>(p) - OffsetOfWord(word));
}

// The end of a free whose heap change goes to the process-wide total now
// (heap_peak.h). Out of line, as FreeExactSlow: FreeExact's own path then
// makes no call but its last, and saves no register.
LT_NOINLINE void FlushThenFree(int64_t pending, void* real_block) {
  FlushHeapPending(pending);
  real.free(real_block);
}

}  // namespace

void FreeExact(void* p) {
  const uint64_t word = LoadExactHeaderWord(p);  // one load: forwarded from malloc's store (block_header.h)
  ThreadState& t = t_state;
  Shard* const shard = t.shard;
  const uint32_t stack_id = StackIdOfWord(word);
  SiteCounters* c;
  // The common case: a malloc's block (its header 16 bytes into the real
  // block) booked at a stack and not aged, freed by a thread that is not
  // busy and whose shard finds the site's counters at the first probe. The
  // tag and the age slot are the word's high half: one test.
  static_assert(ExactHeaderWord(0, 0, kMallocOffsetTag) >> 32 == uint32_t{kMallocOffsetTag} << 24);
  if (LT_UNLIKELY((word >> 32) != uint32_t{kMallocOffsetTag} << 24 || stack_id == 0 || t.busy != 0 ||
                  shard == nullptr || (c = shard->IndexedCounters(stack_id)) == nullptr))
    return FreeExactSlow(p, word);
  // Booked before the real free: the address cannot be reused in between.
  // Inside a busy scope, as BookExact's (exact_record.h).
  const uint64_t size = ExactHeaderOf(p)->size;
  ++t.busy;
  CountExactBlock(*shard, *c, size, /*freed=*/true);
  const int64_t pending = t.heap_pending - static_cast<int64_t>(size);
  if (LT_LIKELY(pending < kPeakFlushBytes && pending > -kPeakFlushBytes)) {  // NoteHeapChange, its flush out of line
    t.heap_pending = pending;
    --t.busy;
    return real.free(static_cast<char*>(p) - kExactHeaderBytes);
  }
  t.heap_pending = 0;
  --t.busy;
  return FlushThenFree(pending, static_cast<char*>(p) - kExactHeaderBytes);
}

namespace {

// ReallocExact's end when the block stays at its site (the same stack
// before and after, the bookings done), `word` the old header's second
// word: RehomeExact's age decision and header. An unaged block grown
// continues its decision with the new bytes alone (ReageExact), inline;
// everything else is ReageExact's.
LT_ALWAYS_INLINE void* ResizedAtSite(ThreadState& t, char* q, uint64_t word, uint64_t old_size, size_t size) {
  const uint32_t stack_id = StackIdOfWord(word);
  const uint32_t old_slot = AgeSlotOfWord(word);
  uint32_t slot = 0;
  if (LT_UNLIKELY(old_slot != 0 || size <= old_size || old_size == 0 || !TryRecord(t.sampler, size - old_size)))
    slot = ReageExact(t, q, stack_id, stack_id, old_size, size, old_slot);
  StoreExactHeader(*ExactHeaderOf(q), size, stack_id, slot, static_cast<uint8_t>(word >> 56));
  return q;
}

}  // namespace

// As MallocExact, the real call comes first and the lookup and the booking
// share one busy scope. The common case, a buffer grown at one call site,
// is booked at the counters the unwind cache keeps for the realloc's stack.
// The real realloc keeps the header (the first bytes of the real block), so
// it is read again after the lookup rather than held in registers across
// it: the lookup then spills nothing.
LT_NOINLINE __attribute__((noclone)) void* ReallocExact(void* p, size_t size) {
  if (p == nullptr) return MallocExact(size, false);
  ThreadState& t = t_state;
  const uint64_t old_word = LoadExactHeaderWord(p);
  // realloc(p, 0) and blocks that are not exact mode's: ReallocateSlow.
  if (LT_UNLIKELY(!IsExactWord(old_word) || size == 0 || t.busy != 0)) return ReallocateSlow(p, size);
  const size_t offset = OffsetOfWord(old_word);
  size_t total;
  if (LT_UNLIKELY(__builtin_add_overflow(size, offset, &total))) return ReallocateSlow(p, size);
  char* moved = static_cast<char*>(real.realloc(static_cast<char*>(p) - offset, total));
  if (LT_UNLIKELY(moved == nullptr)) return nullptr;  // the old block is untouched
  char* const q = moved + offset;
  Shard* shard = t.shard;
  if (LT_UNLIKELY(!kUnwindCacheAvailable || shard == nullptr || g_lazy_start_armed.load(std::memory_order_relaxed)))
    return RehomeExact(t, moved, offset, LoadExactHeader(q), CaptureStackId(t), size);
  ++t.busy;  // libunwind may allocate when the cache misses
  const ExactCapture capture =
      unwind_cache_internal::LookupStackId<unwind_cache_internal::kSiteReallocExact>(*shard, shard->unwind_cache);
  const uint64_t word = LoadExactHeaderWord(q), old_size = LoadExactHeaderSize(q);  // the old header, kept
  SiteCounters* const c = capture.counters != nullptr ? *capture.counters : nullptr;
  // Cached counters belong to a booked stack (stack_id != 0).
  if (LT_LIKELY(c != nullptr && capture.stack_id == StackIdOfWord(word))) {
    CountExactResize(t, *shard, *c, old_size, size);
    --t.busy;
    return ResizedAtSite(t, q, word, old_size, size);
  }
  --t.busy;
  // Where the cache keeps the site's counters, once they exist (BookExact).
  if (capture.counters != nullptr && c == nullptr && capture.stack_id != 0)
    *capture.counters = ExactCountersOf(t, capture.stack_id);
  return RehomeExact(t, q - OffsetOfWord(word), OffsetOfWord(word), ExactHeaderOfWords(old_size, word),
                     capture.stack_id, size);
}

}  // namespace leaktrace::preload
