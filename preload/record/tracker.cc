#include "preload/record/tracker.h"

#include <pthread.h>

#include "preload/heap/block_header.h"
#include "preload/heap/growing_block.h"
#include "preload/internal/errno_kept.h"
#include "preload/internal/health.h"
#include "preload/internal/log.h"
#include "preload/internal/mode.h"
#include "preload/record/heap_peak.h"
#include "preload/record/resize_record.h"
#include "preload/record/shard.h"
#include "preload/record/shard_registry.h"
#include "preload/record/stack_ids.h"
#include "preload/record/unwind_cache.h"
#include "preload/record/unwinder.h"
#include "preload/snapshot/dumper.h"

namespace leaktrace::preload {

__thread ThreadState t_state LT_INITIAL_EXEC = {};

namespace {

pthread_key_t g_exit_key;

// The calling thread's shard, attaching one on first use. nullptr for a
// thread past its exit hooks (the caller then uses the orphan shard).
Shard* ShardOf(ThreadState& t) {
  if (LT_LIKELY(t.shard != nullptr)) return t.shard;
  if (t.phase == ThreadPhase::kExited) return nullptr;
  BusyScope busy;  // pthread_setspecific may allocate
  Shard* shard = AcquireShard();
  if (shard == nullptr) return nullptr;
  ResetUnwindCache(*shard);  // a pooled shard's cache points into a dead thread's stack
  t.shard = shard;
  t.phase = ThreadPhase::kAttached;
  pthread_setspecific(g_exit_key, shard);  // may allocate: we are busy
  return shard;
}

template <typename Update>
void WithCounters(ThreadState& t, uint32_t stack_id, Update&& update) {
  // Busy: a new shard's thread registration (pthread_setspecific) may allocate.
  BusyScope busy;
  if (Shard* shard = ShardOf(t)) {
    if (SiteCounters* c = shard->CountersFor(stack_id)) {
      update(*c);
      shard->events.store(shard->events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      return;
    }
    g_health.dropped_sites.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  g_health.orphan_events.fetch_add(1, std::memory_order_relaxed);
  SpinGuard guard(OrphanLock());
  Shard& orphan = OrphanShard();
  if (SiteCounters* c = orphan.CountersFor(stack_id)) {
    update(*c);
    orphan.events.store(orphan.events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
}

// Heap changes are passed to the global total in steps of this many bytes
// per thread: batched in exact mode (heap_peak.h), at once in sampled mode
// and on a thread that exits (no exit flush to come).
LT_ALWAYS_INLINE int64_t PeakFlushBytes(const ThreadState& t) {
  return CurrentMode() == Mode::kExact && t.phase != ThreadPhase::kExited ? kPeakFlushBytes : 0;
}

LT_ALWAYS_INLINE void NotePeak(ThreadState& t, uint64_t size, double weight, int64_t sign) {
  NoteHeapChange(t, sign * PeakShare(size, weight), PeakFlushBytes(t));
}

// An allocation booked at a site, or (`freed`) its free. Exact mode's
// figures are whole numbers (shard.h, Figure), booked as CountExactBlock
// (exact_record.h) books them.
LT_ALWAYS_INLINE void Count(SiteCounters& c, uint64_t size, double weight, bool freed) {
  if (ExactFigures()) {
    BumpWhole(freed ? c.free_count : c.alloc_count, 1);
    BumpWhole(freed ? c.free_bytes : c.alloc_bytes, size);
    return;
  }
  Bump(freed ? c.free_count : c.alloc_count, weight);
  Bump(freed ? c.free_bytes : c.alloc_bytes, weight * static_cast<double>(size));
  const double sign = freed ? -1.0 : 1.0;
  if (weight > 1) {
    const double v = weight * (weight - 1);
    Bump(c.var_count, sign * v);
    Bump(c.var_bytes, sign * v * static_cast<double>(size) * static_cast<double>(size));
  }
  Bump(c.live_samples, freed ? -1 : 1);
}

}  // namespace

LT_NOINLINE Shard* ThreadShard(ThreadState& t) { return ShardOf(t); }

void StartRecording() {
  // libunwind is set up now, not at the first stack captured: that first
  // capture may come from inside libunwind itself (an allocator that unwinds
  // with it, as gperftools' tcmalloc does, mapping memory while it holds
  // libunwind's lock), and setting up would then wait for that lock forever.
  InitUnwinder();
  pthread_key_create(&g_exit_key, OnThreadExit);
}

uint32_t CaptureStackId(ThreadState& t) {
  ErrnoKept errno_kept;  // the unwind and its first-use setup make system calls that may fail
  // Every tracked event (sampled allocation, descriptor, mapping) comes
  // through here: the one place the lazy dumper start needs to look.
  MaybeStartDumper();
  Shard* shard = ShardOf(t);
  BusyScope busy;
  if (kUnwindCacheAvailable && shard != nullptr) return CaptureStackIdCached(*shard);
  CapturedStack stack;
  CaptureStack(stack);
  return InternCaptured(shard, stack);
}

void RecordAlloc(ThreadState& t, uint32_t stack_id, uint64_t size, double weight) {
  if (stack_id == 0) return;
  WithCounters(t, stack_id, [&](SiteCounters& c) { Count(c, size, weight, /*freed=*/false); });
  NotePeak(t, size, weight, 1);
}

void RecordFree(ThreadState& t, uint32_t stack_id, uint64_t size, double weight) {
  if (stack_id == 0) return;
  WithCounters(t, stack_id, [&](SiteCounters& c) { Count(c, size, weight, /*freed=*/true); });
  NotePeak(t, size, weight, -1);
}

void RecordRealloc(ThreadState& t, uint32_t old_stack_id, uint64_t old_size, double old_weight,
                   uint32_t stack_id, uint64_t size, double weight) {
  if (old_stack_id != stack_id || stack_id == 0) {
    RecordFree(t, old_stack_id, old_size, old_weight);
    RecordAlloc(t, stack_id, size, weight);
    return;
  }
  WithCounters(t, stack_id, [&](SiteCounters& c) { CountResize(c, old_size, old_weight, size, weight); });
  // The net change at once: the total between the two could only be lower,
  // which no peak is made of.
  NoteHeapChange(t, PeakShare(size, weight) - PeakShare(old_size, old_weight), PeakFlushBytes(t));
}

void OnThreadExit(void* shard) {
  ThreadState& t = t_state;
  SettleGrowingBlock(t, /*alive=*/false);  // before its shard is given back
  FlushThreadHeapPending(t);
  t.shard = nullptr;
  t.phase = ThreadPhase::kExited;
  if (shard != nullptr) ReleaseShard(static_cast<Shard*>(shard));
}

}  // namespace leaktrace::preload
