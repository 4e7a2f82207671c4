// The malloc family as the program sees it, but for malloc, free, calloc and
// realloc: those enter by malloc_entry.S, one jump through the table of
// malloc_dispatch.h to their mode's functions (malloc_dispatch.cc).
// Everything here tests the mode and goes to heap_paths.cc (aligned
// allocations, usable sizes).
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "preload/heap/block_header.h"
#include "preload/heap/exact_paths.h"
#include "preload/heap/sampled_paths.h"
#include "preload/internal/compiler.h"
#include "preload/heap/heap_paths.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"

using namespace leaktrace::preload;

namespace {

LT_ALWAYS_INLINE bool IsPowerOfTwo(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

LT_EXPORT void* reallocarray(void* p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, total);
}

namespace {

// glibc's rounding of an alignment that is not a power of two.
size_t PowerOfTwoAtLeast(size_t alignment) {
  size_t a = 1;
  while (a < alignment && a < (SIZE_MAX >> 1) + 1) a <<= 1;
  return a;
}

// An alignment that is not a power of two: glibc up to 2.37 rounds it up as
// memalign does, later ones fail with EINVAL. The real aligned_alloc says
// which; its block goes back at once and ours takes its place.
__attribute__((noinline)) void* AlignedAllocOddAlignment(size_t alignment, size_t size) {
  EnsureReal();
  if (real.aligned_alloc == nullptr) {
    errno = EINVAL;
    return nullptr;
  }
  void* probe = real.aligned_alloc(alignment, size);
  if (probe == nullptr) return nullptr;  // with the real allocator's errno
  real.free(probe);
  return AllocateAlignedSlow(size, PowerOfTwoAtLeast(alignment));
}

}  // namespace

LT_EXPORT void* memalign(size_t alignment, size_t size) {
  // glibc rounds a non-power-of-two alignment up; so do we.
  return AllocateAlignedSlow(size, IsPowerOfTwo(alignment) ? alignment : PowerOfTwoAtLeast(alignment));
}

LT_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
  if (LT_UNLIKELY(!IsPowerOfTwo(alignment))) return AlignedAllocOddAlignment(alignment, size);
  return AllocateAlignedSlow(size, alignment);
}

LT_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  if (!IsPowerOfTwo(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  const int saved_errno = errno;
  void* p = AllocateAlignedSlow(size, alignment);
  errno = saved_errno;
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

LT_EXPORT void* valloc(size_t size) { return AllocateAlignedSlow(size, kPageSize); }

LT_EXPORT void* pvalloc(size_t size) {
  size_t rounded;
  if (__builtin_add_overflow(size, kPageSize - 1, &rounded)) {
    errno = ENOMEM;
    return nullptr;
  }
  rounded &= ~(kPageSize - 1);
  return AllocateAlignedSlow(rounded == 0 ? kPageSize : rounded, kPageSize);
}

LT_EXPORT size_t malloc_usable_size(void* p) {
  if (LT_LIKELY(SurelyPlain(p))) return p ? real.malloc_usable_size(p) : 0;
  return UsableSizeSlow(p);
}
