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

}  // namespace

// Not inlined nor cloned: each holds the unwind cache's lookup for its own
// place (unwind_cache_lookup.h), which must live in one function.
LT_NOINLINE __attribute__((noclone)) void* MallocExact(size_t size, bool zero) {
  ThreadState& t = t_state;
  size_t total;
  // Busy: untracked, with a header (AllocateSlow). Overflow: ENOMEM there.
  if (LT_UNLIKELY(t.busy != 0 || __builtin_add_overflow(size, kExactHeaderBytes, &total)))
    return AllocateSlow(size, zero);
  const ExactCapture capture = CaptureExactAt<unwind_cache_internal::kSiteMallocExact>(t);
  const uint32_t stack_id = capture.stack_id;
  char* base = static_cast<char*>(zero ? real.calloc(1, total) : real.malloc(total));
  if (LT_UNLIKELY(base == nullptr)) return nullptr;
  void* p = base + kExactHeaderBytes;
  ExactHeader* h = ExactHeaderOf(p);
  StoreExactHeader(*h, size, stack_id, 0, kMallocOffsetTag);
  if (LT_LIKELY(stack_id != 0)) {
    RecordAllocExact(t, stack_id, size, capture.counters);
    if (const uint32_t slot = MaybeAgeExact(t, p, stack_id, size); LT_UNLIKELY(slot != 0))
      StoreExactHeader(*h, size, stack_id, slot, kMallocOffsetTag);
  }
  return p;
}

void FreeExact(void* p) {
  const ExactHeader* h = ExactHeaderOf(p);
  const uint64_t word = LoadExactHeaderWord(p);  // one load: forwarded from malloc's store (block_header.h)
  // Not tagged: a bootstrap block, or one the real allocator handed out
  // directly (block_header.h, kExactTag).
  if (LT_UNLIKELY(!IsExactWord(word))) return FreeSlow(p);
  if (const uint32_t slot = AgeSlotOfWord(word); LT_UNLIKELY(slot != 0)) AgeTableRemove(slot);
  if (const uint32_t stack_id = StackIdOfWord(word); LT_LIKELY(stack_id != 0)) {
    ThreadState& t = t_state;
    // Booked before the real free: the address cannot be reused in between.
    if (LT_LIKELY(t.busy == 0)) RecordFreeExact(t, stack_id, h->size);
    else g_health.busy_frees.fetch_add(1, std::memory_order_relaxed);
  }
  real.free(static_cast<char*>(p) - OffsetOfWord(word));
}

LT_NOINLINE __attribute__((noclone)) void* ReallocExact(void* p, size_t size) {
  if (p == nullptr) return MallocExact(size, false);
  ThreadState& t = t_state;
  const ExactHeader old = LoadExactHeader(p);
  // realloc(p, 0) and blocks that are not exact mode's: ReallocateSlow.
  if (LT_UNLIKELY(!IsExactHeader(old) || size == 0 || t.busy != 0)) return ReallocateSlow(p, size);
  const size_t offset = ExactOffset(old);
  size_t total;
  if (LT_UNLIKELY(__builtin_add_overflow(size, offset, &total))) return ReallocateSlow(p, size);
  const uint32_t stack_id = CaptureExactAt<unwind_cache_internal::kSiteReallocExact>(t).stack_id;
  char* moved = static_cast<char*>(real.realloc(static_cast<char*>(p) - offset, total));
  if (LT_UNLIKELY(moved == nullptr)) return nullptr;  // the old block is untouched
  return RehomeExact(t, moved, offset, old, stack_id, size);
}

}  // namespace leaktrace::preload
