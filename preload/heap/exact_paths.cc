#include "preload/heap/exact_paths.h"

#include <errno.h>
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

// MallocExact's ends out of line, each its last act (a tail call), so
// that the common case saves no register for them: the values they need
// are their arguments. `base` is the real block, its header's size written
// already; the thread busy where said.
namespace {

// Everything after the stack's id but the common case: the booking by
// RecordAllocExact (`cached`: where the unwind cache keeps the site's
// counters, or null), the header, the age decision. The thread not busy.
LT_NOINLINE void* MallocBooked(char* base, size_t size, uint32_t stack_id, SiteCounters** cached) {
  ThreadState& t = t_state;
  void* p = base + kExactHeaderBytes;
  if (stack_id != 0) RecordAllocExact(t, stack_id, size, cached);
  ExactHeader* h = ExactHeaderOf(p);
  StoreExactHeader(*h, size, stack_id, 0, kMallocOffsetTag);
  if (LT_LIKELY(stack_id != 0)) {
    if (const uint32_t slot = MaybeAgeExact(t, p, stack_id, size); LT_UNLIKELY(slot != 0))
      StoreExactHeader(*h, size, stack_id, slot, kMallocOffsetTag);
  }
  return p;
}

// No unwind cache to ask (no shard yet, every event checking the lazy
// dumper start: dumper.h, or not x86-64): CaptureStackId. The thread not busy.
LT_NOINLINE void* MallocUncached(char* base, size_t size) {
  return MallocBooked(base, size, CaptureStackId(t_state), nullptr);
}

// A hit whose check is due (CheckedHit): the thread busy, as the lookup
// left it.
LT_NOINLINE void* MallocCheckedHit(Shard& shard, UnwindCache& cache, unwind_cache_internal::Way& way, char* base,
                                   size_t size) {
  const uint32_t stack_id = unwind_cache_internal::CheckedHit(shard, cache, way);
  LeaveBusy(t_state);
  return MallocBooked(base, size, stack_id, nullptr);
}

// The common case's end when the thread's pending heap change is due to go
// to the process-wide total (heap_peak.h): the thread busy, its counters
// booked, the header written.
LT_NOINLINE void* MallocFlushed(char* base, int64_t pending, uint32_t stack_id, size_t size) {
  ThreadState& t = t_state;
  t.heap_pending = 0;
  LeaveBusy(t);
  FlushHeapPending(pending);
  void* p = base + kExactHeaderBytes;
  if (const uint32_t slot = MaybeAgeExact(t, p, stack_id, size); LT_UNLIKELY(slot != 0))
    StoreExactHeader(*ExactHeaderOf(p), size, stack_id, slot, kMallocOffsetTag);
  return p;
}

// The common case's end when the block is one of the aged sample
// (MaybeAgeExact): its entry, and the header again with its slot.
LT_NOINLINE void* MallocAged(void* p, uint32_t stack_id, size_t size) {
  ThreadState& t = t_state;
  if (const uint32_t slot = AgeExactSlow(t, p, stack_id, size, 0); slot != 0)
    StoreExactHeader(*ExactHeaderOf(p), size, stack_id, slot, kMallocOffsetTag);
  return p;
}

}  // namespace

// MallocExact and CallocExact: the real allocation comes first, so the
// lookup and the booking share one busy scope. The common case (the cache
// hits and holds the site's counters, no flush of the heap total due, the
// block not aged) makes no call but the real allocator's; every other case
// ends in a tail call to one of the functions above, so the common case
// saves and restores only what lives across the real allocator's call and
// the miss path's. `Site`: the calling function's own (LookupKey).
template <uintptr_t Site, bool kZero>
LT_ALWAYS_INLINE void* AllocateExactAt(size_t size) {
  ThreadState& t = t_state;
  size_t total;
  // Busy: untracked, with a header (AllocateSlow). Overflow: ENOMEM there.
  if (LT_UNLIKELY(t.busy != 0 || __builtin_add_overflow(size, kExactHeaderBytes, &total)))
    return AllocateSlow(size, kZero);
  char* base = static_cast<char*>(kZero ? real.calloc(1, total) : real.malloc(total));
  if (LT_UNLIKELY(base == nullptr)) return nullptr;
  Shard* shard = t.shard;
  if (LT_UNLIKELY(!kUnwindCacheAvailable || g_every_event_checks_lazy_start.load(std::memory_order_relaxed)))
    return MallocUncached(base, size);
  // A thread's first allocation attaches its shard and goes on here: its
  // chain learned under this place's key is the one its later allocations
  // from the same place look up (the generic capture's key, another
  // place's, would learn it in a set they never look in, a page and an
  // unwind more at every thread's start).
  if (LT_UNLIKELY(shard == nullptr) && (shard = ThreadShard(t)) == nullptr) return MallocUncached(base, size);
  // The lookup and the booking in one busy scope (libunwind may allocate
  // when the cache misses; exact_record.h says why the counters move
  // inside one).
  EnterBusy(t);
  UnwindCache* const cache = shard->unwind_cache;
  const uintptr_t key = unwind_cache_internal::LookupKey<Site>();
  if (LT_LIKELY(cache != nullptr)) {  // (CaptureMissed makes it at the thread's first capture)
    if (unwind_cache_internal::Way* w = unwind_cache_internal::HitWay(*cache, key); LT_LIKELY(w != nullptr)) {
      unwind_cache_internal::CacheEntry* const e = w->entry;
      if (LT_UNLIKELY(--w->hits_to_check == 0)) return MallocCheckedHit(*shard, *cache, *w, base, size);
      const uint32_t stack_id = e->stack_id;
      SiteCounters* const c = e->counters;
      if (LT_LIKELY(c != nullptr)) {
        if (stack_id == 0) __builtin_unreachable();  // counters are only ever cached for a booked stack
        CountExactBlock(*shard, *c, size, /*freed=*/false);
        StoreExactHeader(*reinterpret_cast<ExactHeader*>(base), size, stack_id, 0, kMallocOffsetTag);
        // NoteHeapChange, its flush out of line.
        const int64_t pending = t.heap_pending + static_cast<int64_t>(size);
        if (LT_UNLIKELY(pending >= kPeakFlushBytes || pending <= -kPeakFlushBytes))
          return MallocFlushed(base, pending, stack_id, size);
        t.heap_pending = pending;
        LeaveBusy(t);
        void* p = base + kExactHeaderBytes;
        // MaybeAgeExact, its slow path out of line.
        if (LT_UNLIKELY(!TryRecord(t.sampler, size))) return MallocAged(p, stack_id, size);
        return p;
      }
      LeaveBusy(t);
      return MallocBooked(base, size, stack_id, &e->counters);
    }
  }
  // Not a tail call (LeaveBusy follows): the miss path's frames lie below
  // this function's, whose place the key names.
  const uint32_t stack_id = unwind_cache_internal::CaptureMissed(*shard, key);
  LeaveBusy(t);
  return MallocBooked(base, size, stack_id, nullptr);
}

// Not inlined nor cloned: each holds the unwind cache's lookup for its own
// place (unwind_cache_lookup.h), which must live in one function.
LT_NOINLINE __attribute__((noclone)) void* MallocExact(size_t size) {
  return AllocateExactAt<unwind_cache_internal::kSiteMallocExact, false>(size);
}

LT_NOINLINE __attribute__((noclone)) void* CallocExact(size_t size) {
  return AllocateExactAt<unwind_cache_internal::kSiteCallocExact, true>(size);
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
  if (LT_UNLIKELY(p == nullptr)) return;
  if (LT_UNLIKELY(!ExactHeaderReadable(p))) return real.free(p);  // another allocator's block (block_header.h)
  const uint64_t word = LoadExactHeaderWord(p);  // one load: forwarded from malloc's store (block_header.h)
  ThreadState& t = t_state;
  Shard* const shard = t.shard;
  const uint32_t stack_id = StackIdOfWord(word);
  SiteCounters* c;
  // The common case: a malloc's block (its header 16 bytes into the real
  // block) booked at a stack and not aged, freed by a thread that is not
  // busy and whose shard finds the site's counters at the first probe. The
  // tag and the age slot are the word's high half: one 32-bit compare.
  static_assert(ExactHeaderWord(0, 0, kMallocOffsetTag) >> 32 == uint32_t{kMallocOffsetTag} << 24);
  if (LT_UNLIKELY(static_cast<int32_t>(word >> 32) != static_cast<int32_t>(uint32_t{kMallocOffsetTag} << 24) ||
                  stack_id == 0 ||
                  t.busy != 0 ||
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

// ResizedAtSite's other cases (a shrink, an empty block, a point of the
// sampling line in the growth): ReageExact's decision, the whole header.
LT_NOINLINE void* ReagedAtSite(ThreadState& t, char* q, uint64_t word, uint64_t old_size, size_t size) {
  const uint32_t stack_id = StackIdOfWord(word);
  const uint32_t slot = ReageExact(t, q, stack_id, stack_id, old_size, size, AgeSlotOfWord(word));
  StoreExactHeader(*ExactHeaderOf(q), size, stack_id, slot, static_cast<uint8_t>(word >> 56));
  return q;
}

// ReallocExact's end when the block stays at its site (the same stack
// before and after, the bookings done), `word` the old header's second
// word, still in place in front of `q` (the real realloc keeps a block's
// first bytes): RehomeExact's age decision and header. A growth continues
// the block's decision (ReageExact), inline: an aged block stays aged, its
// entry's size rewritten, its birth kept (its weight follows from its size,
// age_table.h); an unaged one offers the sampler its new bytes alone. The
// header then changes in its size only.
LT_ALWAYS_INLINE void* ResizedAtSite(ThreadState& t, char* q, uint64_t word, uint64_t old_size, size_t size) {
  if (LT_UNLIKELY(size <= old_size || old_size == 0)) return ReagedAtSite(t, q, word, old_size, size);
  if (const uint32_t old_slot = AgeSlotOfWord(word); old_slot != 0) {
    AgeTableRegrow(old_slot, size);
  } else if (LT_UNLIKELY(!TryRecord(t.sampler, size - old_size))) {
    return ReagedAtSite(t, q, word, old_size, size);
  }
  StoreExactHeaderSize(q, size);
  return q;
}

// The real realloc to `want` (>= size) bytes, out of line so that the
// common case (the block kept) saves few registers. The headroom is ours to
// ask for, not the program's: when the real allocator refuses it (an
// address-space limit), the size asked, and the errno of a call that
// succeeds as it was.
LT_NOINLINE char* ResizeBigExactTo(char* base, size_t offset, size_t size, size_t want) {
  size_t total;
  if (want != size && !__builtin_add_overflow(want, offset, &total)) {
    const int saved_errno = errno;
    if (void* moved = real.realloc(base, total)) return static_cast<char*>(moved);
    errno = saved_errno;
  }
  return static_cast<char*>(real.realloc(base, size + offset));
}

// The real block of a big exact block (more than kContinueAboveBytes)
// resized to hold `size` bytes, amortised as sampled mode's big blocks are
// (heap_paths.cc, ReallocateSampled): a size that the real block holds, and
// at least 3/4 of what it holds, keeps it as it is, with no call to the real
// realloc at all; a growth past it sizes the real block at least 25 % larger.
// A buffer grown in small steps then calls the real realloc a few dozen
// times on its way to a gigabyte, not at every step: each of those calls
// takes the real allocator's arena lock (glibc locks whenever the process
// has a second thread, and leaktrace's dumper thread is one), which cost
// more than all of leaktrace's own bookkeeping of the step. The headroom is
// address space the program has not written (not resident); a shrink gives
// back all but at most a quarter; malloc_usable_size tells the program no
// more than a plain block of its size would have (heap_paths.cc,
// UsableSizeSlow). `offset`: the header's distance from the real block's
// start; size + offset does not overflow. The real block (`base` when
// kept), or null with the real realloc's errno, `base` untouched.
LT_NOINLINE char* ResizeBigExact(char* base, size_t offset, size_t size) {
  if (!RealUsableSizeIsTheAllocators()) return ResizeBigExactTo(base, offset, size, size);  // no headroom to measure
  const size_t capacity = real.malloc_usable_size(base) - offset;
  if (size <= capacity && size >= capacity - capacity / 4) return base;
  const size_t want = size > capacity && capacity + capacity / 4 > size ? capacity + capacity / 4 : size;
  return ResizeBigExactTo(base, offset, size, want);
}

}  // namespace

// As MallocExact, the real call (when a big block's headroom does not hold
// the size: ResizeBigExact) comes first and the lookup and the booking
// share one busy scope. The common case, a buffer grown at one call site,
// is booked at the counters the unwind cache keeps for the realloc's stack.
// The real realloc keeps the header (the first bytes of the real block), so
// it is read again after the lookup rather than held in registers across
// it: the lookup then spills nothing.
LT_NOINLINE __attribute__((noclone)) void* ReallocExact(void* p, size_t size) {
  if (p == nullptr) return MallocExact(size);
  if (LT_UNLIKELY(!ExactHeaderReadable(p))) return ReallocateSlow(p, size);  // ClassifyBlock: another allocator's
  ThreadState& t = t_state;
  const uint64_t old_word = LoadExactHeaderWord(p);
  // realloc(p, 0) and blocks that are not exact mode's: ReallocateSlow.
  if (LT_UNLIKELY(!IsExactWord(old_word) || size == 0 || t.busy != 0)) return ReallocateSlow(p, size);
  const size_t offset = OffsetOfWord(old_word);
  size_t total;
  if (LT_UNLIKELY(__builtin_add_overflow(size, offset, &total))) return ReallocateSlow(p, size);
  char* const base = static_cast<char*>(p) - offset;
  char* moved = size > kContinueAboveBytes ? ResizeBigExact(base, offset, size)
                                           : static_cast<char*>(real.realloc(base, total));
  if (LT_UNLIKELY(moved == nullptr)) return nullptr;  // the old block is untouched
  char* const q = moved + offset;
  Shard* shard = t.shard;
  if (LT_UNLIKELY(!kUnwindCacheAvailable || shard == nullptr ||
                  g_every_event_checks_lazy_start.load(std::memory_order_relaxed)))
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
