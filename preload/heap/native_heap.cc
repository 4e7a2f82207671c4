#include "preload/heap/native_heap.h"

#include <string.h>

#include "preload/heap/age_table.h"
#include "preload/heap/bootstrap_heap.h"
#include "preload/heap/heap_paths.h"
#include "preload/internal/health.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"

namespace leaktrace::preload {
namespace {

void* AllocateNativeExact(size_t size, size_t alignment, RawAlloc raw, uintptr_t arg) {
  ThreadState& t = t_state;
  const uint32_t stack_id = t.busy ? 0 : CaptureStackId(t);
  const size_t offset = alignment <= kExactHeaderBytes ? kExactHeaderBytes : alignment;
  size_t total;
  // An impossible size still goes to the allocator, which fails it its own
  // way (NULL and errno, or std::bad_alloc for new).
  if (__builtin_add_overflow(size, offset, &total)) total = SIZE_MAX;
  char* base = static_cast<char*>(raw(total, alignment <= kExactHeaderBytes ? alignment : offset, arg));
  if (base == nullptr) return nullptr;
  void* p = base + offset;
  ExactHeader* h = ExactHeaderOf(p);
  InitExactHeader(*h, size, stack_id, offset);
  if (stack_id != 0) {
    RecordAlloc(t, stack_id, size, 1.0);
    SetAgeSlot(*h, MaybeAgeExact(t, p, stack_id, size));
  }
  return p;
}

}  // namespace

void* NativeAllocate(size_t size, size_t alignment, bool zero, bool may_sample, RawAlloc raw, uintptr_t arg) {
  if (CurrentMode() == Mode::kExact) return AllocateNativeExact(size, alignment, raw, arg);
  // An aligned sampled block sits at page + 64: aligned to 64, no more. A
  // block in an arena the program chose (may_sample false) stays the allocator's.
  if (may_sample && alignment <= kSampledAlignment) {
    ThreadState& t = t_state;
    if (const double weight = DecideSample(t, size); weight > 0) {
      if (void* p = NewSampledBlock(t, size, zero, weight, alignment)) return p;
    }
  } else if (may_sample) {
    g_health.unsampled_aligned.fetch_add(1, std::memory_order_relaxed);
  }
  return raw(size, alignment, arg);
}

void ResizedInPlace(void* p, uint64_t new_size) {
  ThreadState& t = t_state;
  ExactHeader* h = ExactHeaderOf(p);
  if (h->stack_id != 0 && t.busy == 0) {
    // Booked as a realloc: a free and an allocation (the birth kept), and
    // the age decision a realloc makes (ReageExact), so a later realloc may
    // continue it.
    RecordFree(t, h->stack_id, h->size, 1.0);
    RecordAlloc(t, h->stack_id, new_size, 1.0);
    SetAgeSlot(*h, ReageExact(t, p, h->stack_id, h->stack_id, h->size, new_size, AgeSlotOf(*h)));
  } else {
    AgeTableRemove(AgeSlotOf(*h));  // the table holds the old size: the block leaves the aged sample
    SetAgeSlot(*h, 0);
  }
  h->size = new_size;
}

}  // namespace leaktrace::preload
