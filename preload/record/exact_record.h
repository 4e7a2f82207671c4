// Exact mode's recording (LEAKTRACE_SAMPLE=1: every allocation, every
// weight 1) with the common case inline, for the exact heap paths
// (heap/exact_paths.cc). The stack: the thread has its shard, so the unwind
// cache is asked at once (CaptureStackId does the rest). The bookings: the
// site's counters are at the first probe of the shard's index. Anything else goes to RecordAlloc,
// RecordFree or RecordRealloc (tracker.h), which book the same figures; so
// do these: Count() in tracker.cc with weight 1 (no variance terms), and
// the block's share of the live heap, 1 * size, batched per thread as
// heap_peak.h says for exact mode.
//
// Contract: the calling thread is not busy; the bookings' `stack_id` is not
// 0 unless said. The bookings' inline part touches only the thread's own
// shard and never allocates.
#pragma once

#include <cstdint>

#include "preload/internal/compiler.h"
#include "preload/record/heap_peak.h"
#include "preload/record/shard.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"
#include "preload/record/unwind_cache.h"
#include "preload/record/unwind_cache_lookup.h"
#include "preload/snapshot/dumper.h"

namespace leaktrace::preload {

// CaptureStackId(t), short when the thread has its shard and no lazy
// dumper start is due.
LT_ALWAYS_INLINE uint32_t CaptureStackIdExact(ThreadState& t) {
  Shard* shard = t.shard;
  if (!kUnwindCacheAvailable ||
      LT_UNLIKELY(shard == nullptr || g_every_event_checks_lazy_start.load(std::memory_order_relaxed)))
    return CaptureStackId(t);
  ++t.busy;  // libunwind may allocate when the cache misses
  const uint32_t id = CaptureStackIdCached(*shard);
  --t.busy;
  return id;
}

// The same with the unwind cache's hit path inline (`Site`: the calling
// function's own place, unwind_cache_lookup.h), so a hit costs no call. On
// a hit it also gives where the cache keeps the site's counters
// (ExactCapture), which RecordAllocExact uses instead of the shard's index.
// The caller must not return this call's result as its last act.
using ExactCapture = unwind_cache_internal::CachedCapture;
template <uintptr_t Site>
LT_ALWAYS_INLINE ExactCapture CaptureExactAt(ThreadState& t) {
  Shard* shard = t.shard;
  if (!kUnwindCacheAvailable ||
      LT_UNLIKELY(shard == nullptr || g_every_event_checks_lazy_start.load(std::memory_order_relaxed)))
    return {CaptureStackId(t), nullptr};
  ++t.busy;  // libunwind may allocate when the cache misses
  const ExactCapture capture = unwind_cache_internal::LookupStackId<Site>(*shard, shard->unwind_cache);
  --t.busy;
  return capture;
}

// The counters of `stack_id` in the thread's shard when found at once, else
// nullptr. A thread with a shard is attached (an exited one has none), so
// its heap changes are batched.
LT_ALWAYS_INLINE SiteCounters* ExactCountersOf(const ThreadState& t, uint32_t stack_id) {
  return t.shard != nullptr ? t.shard->IndexedCounters(stack_id) : nullptr;
}

// After the counters changed: one more heap event in the thread's shard
// (snapshot.cc bounds what a snapshot may be off by with it) and the heap
// total.
LT_ALWAYS_INLINE void ExactEventBooked(ThreadState& t, Shard& shard, int64_t heap_change) {
  BumpRelease(shard.events, 1);
  NoteHeapChange(t, heap_change, kPeakFlushBytes);
}

// The site's counters and the shard's event of an exact allocation, or
// (`freed`) its free, at the counters `c` of the thread's shard `shard`;
// the heap total is the caller's (CountExact). The thread busy. Whole
// numbers (shard.h, Figure): the live blocks are the allocations less the
// frees, no count of their own.
LT_ALWAYS_INLINE void CountExactBlock(Shard& shard, SiteCounters& c, uint64_t size, bool freed) {
  BumpWhole(freed ? c.free_count : c.alloc_count, 1);
  BumpWhole(freed ? c.free_bytes : c.alloc_bytes, size);
  BumpRelease(shard.events, 1);  // after the counters (snapshot.cc)
}

// The bookings of an exact allocation, or (`freed`) its free, at the
// counters `c` of the thread's shard `shard`: the part of BookExact inside
// its busy scope, for a caller that holds one already.
LT_ALWAYS_INLINE void CountExact(ThreadState& t, Shard& shard, SiteCounters& c, uint64_t size, bool freed) {
  CountExactBlock(shard, c, size, freed);
  NoteHeapChange(t, freed ? -static_cast<int64_t>(size) : static_cast<int64_t>(size), kPeakFlushBytes);
}

// An exact allocation booked at its site, or (`freed`) its free. The
// counters move inside a busy scope, as in tracker.cc: a signal handler that
// allocates on this thread meanwhile is not booked into the same counters
// between a load and its store.
// `cached`: where the unwind cache keeps this site's counters for the
// thread's shard (ExactCapture), or null.
LT_ALWAYS_INLINE void BookExact(ThreadState& t, uint32_t stack_id, uint64_t size, bool freed,
                                SiteCounters** cached = nullptr) {
  SiteCounters* c = cached != nullptr ? *cached : nullptr;
  if (c == nullptr) {
    c = ExactCountersOf(t, stack_id);
    if (LT_UNLIKELY(c == nullptr)) {
      if (freed) return RecordFree(t, stack_id, size, 1.0);
      return RecordAlloc(t, stack_id, size, 1.0);
    }
    if (cached != nullptr) *cached = c;
  }
  ++t.busy;
  CountExact(t, *t.shard, *c, size, freed);
  --t.busy;
}

LT_ALWAYS_INLINE void RecordAllocExact(ThreadState& t, uint32_t stack_id, uint64_t size,
                                      SiteCounters** cached = nullptr) {
  BookExact(t, stack_id, size, /*freed=*/false, cached);
}

LT_ALWAYS_INLINE void RecordFreeExact(ThreadState& t, uint32_t stack_id, uint64_t size) {
  BookExact(t, stack_id, size, /*freed=*/true);
}

// RecordReallocExact's bookings at the counters `c` of the thread's shard
// `shard`, for a caller that holds a busy scope already (as CountExact).
LT_ALWAYS_INLINE void CountExactResize(ThreadState& t, Shard& shard, SiteCounters& c, uint64_t old_size,
                                       uint64_t size) {
  BumpWhole(c.free_count, 1);
  BumpWhole(c.free_bytes, old_size);
  BumpWhole(c.alloc_count, 1);
  BumpWhole(c.alloc_bytes, size);
  ExactEventBooked(t, shard, static_cast<int64_t>(size) - static_cast<int64_t>(old_size));
}

// A realloc's free of the old block and allocation of the new one in one
// go, as RecordRealloc books them; either stack id may be 0 (not booked).
// At the same site (a buffer grown at one call site) one resize; at two
// (a block malloc'd at one call and grown at another: a parser's record
// buffer) a free at the one and an allocation at the other, both at the
// shard's counters when found at once, the heap total told the net change
// (the total between the two could only be lower, which no peak is made
// of). Through RecordRealloc those were two calls of its general path, a
// tenth of exact `realloc_small`'s time.
LT_ALWAYS_INLINE void RecordReallocExact(ThreadState& t, uint32_t old_stack_id, uint64_t old_size, uint32_t stack_id,
                                         uint64_t size) {
  if (old_stack_id == stack_id) {
    SiteCounters* c = stack_id != 0 ? ExactCountersOf(t, stack_id) : nullptr;
    if (LT_UNLIKELY(c == nullptr)) return RecordRealloc(t, old_stack_id, old_size, 1.0, stack_id, size, 1.0);
    ++t.busy;
    CountExactResize(t, *t.shard, *c, old_size, size);
    --t.busy;
    return;
  }
  SiteCounters* from = old_stack_id != 0 ? ExactCountersOf(t, old_stack_id) : nullptr;
  SiteCounters* to = from != nullptr && stack_id != 0 ? ExactCountersOf(t, stack_id) : nullptr;
  if (LT_UNLIKELY(to == nullptr)) return RecordRealloc(t, old_stack_id, old_size, 1.0, stack_id, size, 1.0);
  ++t.busy;
  CountExactBlock(*t.shard, *from, old_size, /*freed=*/true);
  CountExactBlock(*t.shard, *to, size, /*freed=*/false);
  NoteHeapChange(t, static_cast<int64_t>(size) - static_cast<int64_t>(old_size), kPeakFlushBytes);
  --t.busy;
}

}  // namespace leaktrace::preload
