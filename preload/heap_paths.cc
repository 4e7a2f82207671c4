#include "preload/heap_paths.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "preload/age_table.h"
#include "preload/block_header.h"
#include "preload/bootstrap_heap.h"
#include "preload/compiler.h"
#include "preload/real_functions.h"
#include "preload/sampler.h"
#include "preload/thread_state.h"
#include "preload/tracker.h"

namespace leaktrace::preload {
namespace {

uint64_t NowMonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// ---- sampled blocks ------------------------------------------------------

// Restarts the thread's countdown after a sample (or on its first use).
// Exact mode runs it at kExactAgeSampleInterval to pick its aged blocks.
void RedrawCountdown(ThreadState& t, uint64_t mean = g_config.sample_interval) {
  if (!t.countdown_drawn) {
    t.rng ^= reinterpret_cast<uintptr_t>(&t) * 0x9E3779B97F4A7C15ULL ^ NowMonotonicNs();
    t.countdown_drawn = true;
  }
  t.countdown = DrawSampleDistance(t.rng, mean);
}

void* NewSampledBlock(size_t size, bool zero, uint32_t stack_id, double weight) {
  size_t total;
  if (__builtin_add_overflow(size, kSampledOffset, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  char* base = static_cast<char*>(real.memalign(kPageSize, total));
  if (base == nullptr) return nullptr;
  void* p = base + kSampledOffset;
  if (zero) memset(p, 0, size);
  SampledHeader* h = SampledHeaderOf(p);
  h->stack_id = stack_id;
  h->reserved = 0;
  h->size = size;
  h->weight = weight;
  h->interval = g_config.sample_interval;
  h->birth_ns = NowMonotonicNs();
  h->age_slot = stack_id != 0 ? AgeTableInsert(p, stack_id, size, weight, h->birth_ns) : 0;
  h->spare = 0;
  h->check = SampledCheck(p);
  return p;
}

void ReleaseSampledBlock(ThreadState& t, void* p) {
  SampledHeader* h = SampledHeaderOf(p);
  if (t.busy == 0) {
    RecordFree(t, h->stack_id, h->size, h->weight);
  } else {
    g_health.busy_frees.fetch_add(1, std::memory_order_relaxed);
  }
  AgeTableRemove(static_cast<uint32_t>(h->age_slot));
  h->check = 0;  // a stale copy of this page must never pass for a header
  real.free(h);
}

// ---- exact mode ------------------------------------------------------------

int Log2(size_t v) { return 63 - __builtin_clzll(v); }

void* NewExactBlock(size_t size, size_t alignment, bool zero, uint32_t stack_id) {
  const size_t offset = alignment <= kExactHeaderBytes ? kExactHeaderBytes : alignment;
  size_t total;
  if (__builtin_add_overflow(size, offset, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  char* base;
  if (offset == kExactHeaderBytes) {
    base = static_cast<char*>(zero ? real.calloc(1, total) : real.malloc(total));
  } else {
    base = static_cast<char*>(real.memalign(alignment, total));
    if (base != nullptr && zero) memset(base + offset, 0, size);
  }
  if (base == nullptr) return nullptr;
  void* p = base + offset;
  ExactHeader* h = ExactHeaderOf(p);
  h->stack_id = stack_id;
  h->offset_log2 = static_cast<uint8_t>(Log2(offset));
  SetAgeSlot(*h, 0);
  h->size = size;
  return p;
}

char* ExactBase(void* p) { return static_cast<char*>(p) - (size_t{1} << ExactHeaderOf(p)->offset_log2); }

void* AllocateExact(size_t size, size_t alignment, bool zero) {
  ThreadState& t = t_state;
  const uint32_t stack_id = t.busy ? 0 : CaptureStackId(t);
  void* p = NewExactBlock(size, alignment, zero, stack_id);
  if (p != nullptr && stack_id != 0) {
    RecordAlloc(t, stack_id, size, 1.0);
    SetAgeSlot(*ExactHeaderOf(p), MaybeAgeExact(t, p, stack_id, size));
  }
  return p;
}

void FreeExact(void* p) {
  ThreadState& t = t_state;
  const ExactHeader h = *ExactHeaderOf(p);
  AgeTableRemove(AgeSlotOf(h));
  if (h.stack_id != 0) {
    if (t.busy == 0) RecordFree(t, h.stack_id, h.size, 1.0);
    else g_health.busy_frees.fetch_add(1, std::memory_order_relaxed);
  }
  real.free(ExactBase(p));
}

void* ReallocateExact(void* p, size_t size) {
  ThreadState& t = t_state;
  const ExactHeader old = *ExactHeaderOf(p);
  const size_t offset = size_t{1} << old.offset_log2;
  char* base = ExactBase(p);
  if (size == 0) {
    // Keep the real allocator's meaning of realloc(p, 0): glibc frees and
    // returns NULL; others hand back a minimal block, which needs our header.
    if (old.stack_id != 0 && t.busy == 0) RecordFree(t, old.stack_id, old.size, 1.0);
    AgeTableRemove(AgeSlotOf(old));
    void* r = real.realloc(base, 0);
    if (r == nullptr) return nullptr;
    real.free(r);
    return AllocateExact(0, 0, false);
  }
  size_t total;
  if (__builtin_add_overflow(size, offset, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  const uint32_t stack_id = t.busy ? 0 : CaptureStackId(t);
  char* moved = static_cast<char*>(real.realloc(base, total));
  if (moved == nullptr) return nullptr;  // the old block is untouched
  return RehomeExact(t, moved, offset, old, stack_id, size);
}

// ---- start-up ----------------------------------------------------------------

// True when the hooks may not run yet: the caller must use the bootstrap heap.
bool NeedsBootstrap() {
  if (LT_LIKELY(g_mode != Mode::kUninitialized)) return false;
  if (t_state.busy != 0) return true;  // re-entered from inside initialisation
  EnsureInitialized();
  return g_mode == Mode::kUninitialized;
}

void* CopyToNewBlock(const void* old, size_t old_size, size_t size, void* fresh) {
  if (fresh != nullptr) memcpy(fresh, old, old_size < size ? old_size : size);
  return fresh;
}

}  // namespace

void* RehomeExact(ThreadState& t, char* moved, size_t offset, const ExactHeader& old, uint32_t stack_id, size_t size) {
  AgeTableRemove(AgeSlotOf(old));  // a new birth, like a free and a new allocation
  void* q = moved + offset;
  ExactHeader* h = ExactHeaderOf(q);
  h->stack_id = stack_id;
  h->size = size;
  SetAgeSlot(*h, 0);
  if (t.busy == 0) {
    RecordFree(t, old.stack_id, old.size, 1.0);
    RecordAlloc(t, stack_id, size, 1.0);
    if (stack_id != 0) SetAgeSlot(*h, MaybeAgeExact(t, q, stack_id, size));
  }
  return q;
}

uint32_t MaybeAgeExact(ThreadState& t, void* p, uint32_t stack_id, size_t size) {
  if (!t.countdown_drawn) RedrawCountdown(t, kExactAgeSampleInterval);
  if ((t.countdown -= static_cast<int64_t>(size)) > 0) return 0;
  RedrawCountdown(t, kExactAgeSampleInterval);
  return AgeTableInsert(p, stack_id, size, SampleWeight(size, kExactAgeSampleInterval), NowMonotonicNs());
}

void* AllocateSampled(size_t size, bool zero) {
  ThreadState& t = t_state;
  if (!t.countdown_drawn || t.busy) {
    // First allocation of this thread: start the countdown, then decide this
    // allocation against it like any other. While busy, never sample.
    if (!t.countdown_drawn) {
      RedrawCountdown(t);
      t.countdown -= static_cast<int64_t>(size);
    }
    if (t.countdown > 0 || t.busy) return zero ? real.calloc(1, size) : real.malloc(size);
  }
  RedrawCountdown(t);
  const double weight = SampleWeight(size, g_config.sample_interval);
  const uint32_t stack_id = CaptureStackId(t);
  void* p = NewSampledBlock(size, zero, stack_id, weight);
  if (p != nullptr) RecordAlloc(t, stack_id, size, weight);
  return p;
}

void* AllocateSlow(size_t size, size_t alignment, bool zero) {
  if (NeedsBootstrap()) {
    void* p = BootstrapAlloc(size, alignment);
    if (p == nullptr) errno = ENOMEM;
    return p;
  }
  switch (g_mode) {
    case Mode::kExact:
      return AllocateExact(size, alignment, zero);
    case Mode::kSampled:
      if (alignment <= 16) {
        if ((t_state.countdown -= static_cast<int64_t>(size)) > 0) return zero ? real.calloc(1, size) : real.malloc(size);
        return AllocateSampled(size, zero);
      }
      // Above malloc's own alignment only a sampled block (page + 64) is
      // aligned enough: AllocateSampled's plain fallbacks (a thread's first
      // countdown, busy) are malloc, so neither case may reach it.
      if (alignment > kSampledOffset) {
        g_health.unsampled_aligned.fetch_add(1, std::memory_order_relaxed);
      } else if (ThreadState& t = t_state; t.busy == 0) {
        if (!t.countdown_drawn) RedrawCountdown(t);
        if ((t.countdown -= static_cast<int64_t>(size)) <= 0) return AllocateSampled(size, zero);
      }
      [[fallthrough]];
    default: {
      void* p = real.memalign(alignment, size);
      if (p != nullptr && zero) memset(p, 0, size);
      return p;
    }
  }
}

void FreeSlow(void* p) {
  if (p == nullptr || IsBootstrapBlock(p)) return;
  if (g_mode == Mode::kUninitialized) EnsureInitialized();
  switch (g_mode) {
    case Mode::kExact:
      return FreeExact(p);
    case Mode::kSampled:
      if (MaybeSampled(p) && IsSampledBlock(p)) return ReleaseSampledBlock(t_state, p);
      [[fallthrough]];
    default:
      return real.free(p);
  }
}

void* ReallocateIntoSample(void* p, size_t size) {
  const size_t old_size = real.malloc_usable_size(p);
  void* fresh = CopyToNewBlock(p, old_size, size, AllocateSampled(size, false));
  if (fresh != nullptr) real.free(p);
  return fresh;
}

void* ReallocateSlow(void* p, size_t size) {
  if (p == nullptr) return AllocateSlow(size, 0, false);
  if (IsBootstrapBlock(p)) {
    const size_t old_size = BootstrapBlockSize(p);
    return CopyToNewBlock(p, old_size, size, AllocateSlow(size, 0, false));
  }
  if (g_mode == Mode::kUninitialized) EnsureInitialized();
  switch (g_mode) {
    case Mode::kExact:
      return ReallocateExact(p, size);
    case Mode::kSampled: {
      ThreadState& t = t_state;
      const bool sampled = MaybeSampled(p) && IsSampledBlock(p);
      if (!sampled) {
        if ((t.countdown -= static_cast<int64_t>(size)) > 0) return real.realloc(p, size);
        return ReallocateIntoSample(p, size);
      }
      // A sampled block: a free plus a new sampling decision.
      if (size == 0) {
        // The real allocator's meaning of realloc(p, 0), on the real block.
        SampledHeader* h = SampledHeaderOf(p);
        if (t.busy == 0) RecordFree(t, h->stack_id, h->size, h->weight);
        AgeTableRemove(static_cast<uint32_t>(h->age_slot));
        h->check = 0;
        return real.realloc(h, 0);
      }
      // Everything the program may have written: malloc_usable_size(p)
      // bytes, not just what it asked for (redis fills whole blocks).
      const size_t old_usable = real.malloc_usable_size(SampledHeaderOf(p)) - kSampledOffset;
      void* fresh = CopyToNewBlock(p, old_usable, size, AllocateSlow(size, 0, false));
      if (fresh != nullptr) ReleaseSampledBlock(t, p);
      return fresh;
    }
    default:
      return real.realloc(p, size);
  }
}

size_t UsableSizeSlow(void* p) {
  if (p == nullptr) return 0;
  if (IsBootstrapBlock(p)) return BootstrapBlockSize(p);
  if (g_mode == Mode::kUninitialized) EnsureInitialized();
  switch (g_mode) {
    case Mode::kExact:
      return real.malloc_usable_size(ExactBase(p)) - (size_t{1} << ExactHeaderOf(p)->offset_log2);
    case Mode::kSampled:
      if (MaybeSampled(p) && IsSampledBlock(p)) return real.malloc_usable_size(SampledHeaderOf(p)) - kSampledOffset;
      [[fallthrough]];
    default:
      return real.malloc_usable_size(p);
  }
}

}  // namespace leaktrace::preload
