// The malloc family as the program sees it. Each hook is the fast path only:
// in sampled mode an allocation costs a countdown and the forwarded call, and
// a free costs one pointer test. Everything else is out of line in
// heap_paths.cc.
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "preload/block_header.h"
#include "preload/compiler.h"
#include "preload/heap_paths.h"
#include "preload/real_functions.h"
#include "preload/thread_state.h"
#include "preload/tracker.h"

using namespace leaktrace::preload;

namespace {

LT_ALWAYS_INLINE bool CountdownExpired(size_t size) {
  return (t_state.countdown -= static_cast<int64_t>(size)) <= 0;
}

LT_ALWAYS_INLINE bool IsPowerOfTwo(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

LT_EXPORT void* malloc(size_t size) {
  if (LT_LIKELY(g_mode == Mode::kSampled)) {
    if (LT_LIKELY(!CountdownExpired(size))) return real.malloc(size);
    return AllocateSampled(size, false);
  }
  return AllocateSlow(size, 0, false);
}

LT_EXPORT void free(void* p) {
  if (LT_LIKELY(g_mode == Mode::kSampled && !MaybeSampled(p))) return real.free(p);
  FreeSlow(p);
}

LT_EXPORT void* calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (LT_LIKELY(g_mode == Mode::kSampled)) {
    if (LT_LIKELY(!CountdownExpired(total))) return real.calloc(count, size);
    return AllocateSampled(total, true);
  }
  return AllocateSlow(total, 0, true);
}

LT_EXPORT void* realloc(void* p, size_t size) {
  if (LT_LIKELY(g_mode == Mode::kSampled && p != nullptr && !MaybeSampled(p))) {
    if (LT_LIKELY(!CountdownExpired(size))) return real.realloc(p, size);
    return ReallocateIntoSample(p, size);
  }
  return ReallocateSlow(p, size);
}

LT_EXPORT void* reallocarray(void* p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, total);
}

LT_EXPORT void* memalign(size_t alignment, size_t size) {
  // glibc rounds a non-power-of-two alignment up; so do we.
  if (!IsPowerOfTwo(alignment)) {
    size_t a = 1;
    while (a < alignment && a < (SIZE_MAX >> 1) + 1) a <<= 1;
    alignment = a;
  }
  return AllocateSlow(size, alignment, false);
}

LT_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
  if (!IsPowerOfTwo(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return AllocateSlow(size, alignment, false);
}

LT_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  if (!IsPowerOfTwo(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  const int saved_errno = errno;
  void* p = AllocateSlow(size, alignment, false);
  errno = saved_errno;
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

LT_EXPORT void* valloc(size_t size) { return AllocateSlow(size, kPageSize, false); }

LT_EXPORT void* pvalloc(size_t size) {
  size_t rounded;
  if (__builtin_add_overflow(size, kPageSize - 1, &rounded)) {
    errno = ENOMEM;
    return nullptr;
  }
  rounded &= ~(kPageSize - 1);
  return AllocateSlow(rounded == 0 ? kPageSize : rounded, kPageSize, false);
}

LT_EXPORT size_t malloc_usable_size(void* p) {
  if (LT_LIKELY(g_mode == Mode::kSampled && !MaybeSampled(p))) return p ? real.malloc_usable_size(p) : 0;
  return UsableSizeSlow(p);
}
