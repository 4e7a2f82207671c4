// The functions malloc, free, calloc and realloc run in each mode
// (malloc_dispatch.h). Each is the fast path only: in sampled mode an
// allocation costs the sampler's countdown (TryRecord, sampler.h) and the
// forwarded call, and a free costs one pointer test. Exact mode's table
// holds its own paths (exact_paths.h), but for calloc's product check,
// which goes to them by a tail call. Everything
// else (samples, start-up, every block that might be tracked) is out of line
// in heap_paths.cc. Here, not beside the entries, so the library's tests
// link the table without exporting a malloc.
#include "preload/interpose/malloc_dispatch.h"

#include <errno.h>

#include "preload/heap/block_header.h"
#include "preload/heap/exact_paths.h"
#include "preload/heap/heap_paths.h"
#include "preload/heap/sampled_paths.h"
#include "preload/internal/compiler.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/thread_state.h"

using namespace leaktrace::preload;

namespace {

// calloc's count * size, or false with errno ENOMEM when it overflows (the
// real calloc's own failure, before anything is counted).
LT_ALWAYS_INLINE bool CallocBytes(size_t count, size_t size, size_t* total) {
  if (LT_LIKELY(!__builtin_mul_overflow(count, size, total))) return true;
  errno = ENOMEM;
  return false;
}

// ---- sampled mode ------------------------------------------------------------------

void* SampledMalloc(size_t size) {
  if (LT_LIKELY(TryRecord(t_state.sampler, size))) return real.malloc(size);
  return AllocateSampledSlow(size, false);
}

void SampledFree(void* p) {
  if (LT_LIKELY(!MaybeSampled(p))) return real.free(p);
  FreeMaybeSampled(p);
}

void* SampledCalloc(size_t count, size_t size) {
  size_t total;
  if (!CallocBytes(count, size, &total)) return nullptr;
  if (LT_LIKELY(TryRecord(t_state.sampler, total))) return real.calloc(count, size);
  return AllocateSampledSlow(total, true);
}

void* SampledRealloc(void* p, size_t size) {
  if (LT_LIKELY(p != nullptr && !MaybeSampled(p))) {
    if (LT_LIKELY(size <= kContinueAboveBytes && TryRecord(t_state.sampler, size))) return real.realloc(p, size);
    return ReallocatePlainSlow(p, size);
  }
  return ReallocSampled(p, size);
}

// ---- exact mode --------------------------------------------------------------------

// MallocExact, FreeExact and ReallocExact themselves.

void* ExactCalloc(size_t count, size_t size) {
  size_t total;
  if (!CallocBytes(count, size, &total)) return nullptr;
  return CallocExact(total);
}

// ---- start-up and inert --------------------------------------------------------------
// AllocateSlow and the others initialise the library, serve start-up from
// the bootstrap heap, and forward once inert.

void* StartupMalloc(size_t size) { return AllocateSlow(size, false); }

void* StartupCalloc(size_t count, size_t size) {
  size_t total;
  if (!CallocBytes(count, size, &total)) return nullptr;
  return AllocateSlow(total, true);
}

constexpr MallocHooks kStartupHooks = {StartupMalloc, FreeSlow, StartupCalloc, ReallocateSlow};

}  // namespace

LT_HIDDEN MallocHooks leaktrace_malloc_hooks = kStartupHooks;

namespace leaktrace::preload {

void SelectMallocHooks(Mode mode) {
  MallocHooks hooks;
  switch (mode) {
    case Mode::kSampled:
      hooks = {SampledMalloc, SampledFree, SampledCalloc, SampledRealloc};
      break;
    case Mode::kExact:
      hooks = {MallocExact, FreeExact, ExactCalloc, ReallocExact};
      break;
    default:
      hooks = kStartupHooks;
      break;
  }
  // Release: a thread that jumps through a new pointer sees what was set up
  // before (the real functions, the settings).
  __atomic_store_n(&leaktrace_malloc_hooks.malloc, hooks.malloc, __ATOMIC_RELEASE);
  __atomic_store_n(&leaktrace_malloc_hooks.free, hooks.free, __ATOMIC_RELEASE);
  __atomic_store_n(&leaktrace_malloc_hooks.calloc, hooks.calloc, __ATOMIC_RELEASE);
  __atomic_store_n(&leaktrace_malloc_hooks.realloc, hooks.realloc, __ATOMIC_RELEASE);
}

}  // namespace leaktrace::preload

