#include "preload/native_heap.h"

#include <string.h>

#include "preload/age_table.h"
#include "preload/bootstrap_heap.h"
#include "preload/heap_paths.h"
#include "preload/thread_state.h"

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
  h->stack_id = stack_id;
  h->offset_log2 = static_cast<uint8_t>(63 - __builtin_clzll(offset));
  SetAgeSlot(*h, 0);
  h->size = size;
  if (stack_id != 0) {
    RecordAlloc(t, stack_id, size, 1.0);
    SetAgeSlot(*h, MaybeAgeExact(t, p, stack_id, size));
  }
  return p;
}

}  // namespace

void* NativeAllocate(size_t size, size_t alignment, bool zero, bool may_sample, RawAlloc raw, uintptr_t arg) {
  if (g_mode == Mode::kExact) return AllocateNativeExact(size, alignment, raw, arg);
  ThreadState& t = t_state;
  // Above malloc's own alignment, only a thread whose countdown is running
  // may sample: AllocateSampled starts a new countdown with a plain malloc.
  const bool can_sample = may_sample && alignment <= kSampledOffset &&
                          (alignment <= 16 || (t.countdown_drawn && t.busy == 0));
  if (LT_UNLIKELY(can_sample && (t.countdown -= static_cast<int64_t>(size)) <= 0)) {
    void* p = AllocateSampled(size, zero);
    if (p != nullptr) return p;
  }
  if (may_sample && alignment > kSampledOffset) g_health.unsampled_aligned.fetch_add(1, std::memory_order_relaxed);
  return raw(size, alignment, arg);
}

BlockRef InspectBlock(void* p) {
  if (IsBootstrapBlock(p)) return {BlockRef::kBootstrap, nullptr, 0, BootstrapBlockSize(p)};
  if (g_mode == Mode::kExact) {
    const ExactHeader* h = ExactHeaderOf(p);
    const size_t offset = size_t{1} << h->offset_log2;
    return {BlockRef::kExact, static_cast<char*>(p) - offset, offset, h->size};
  }
  if (MaybeSampled(p) && IsSampledBlock(p))
    return {BlockRef::kSampled, static_cast<char*>(p) - kSampledOffset, kSampledOffset, SampledHeaderOf(p)->size};
  return {BlockRef::kPlain, static_cast<char*>(p), 0, 0};
}

void ForgetBlock(void* p, const BlockRef& b) {
  ThreadState& t = t_state;
  if (b.kind == BlockRef::kExact) {
    const ExactHeader* h = ExactHeaderOf(p);
    AgeTableRemove(AgeSlotOf(*h));
    if (h->stack_id == 0) return;
    if (t.busy == 0) RecordFree(t, h->stack_id, h->size, 1.0);
    else g_health.busy_frees.fetch_add(1, std::memory_order_relaxed);
  } else if (b.kind == BlockRef::kSampled) {
    SampledHeader* h = SampledHeaderOf(p);
    if (t.busy == 0) RecordFree(t, h->stack_id, h->size, h->weight);
    else g_health.busy_frees.fetch_add(1, std::memory_order_relaxed);
    AgeTableRemove(static_cast<uint32_t>(h->age_slot));
    h->check = 0;  // a stale copy of this page must never pass for a header
  }
}

void ResizedInPlace(void* p, uint64_t new_size) {
  ThreadState& t = t_state;
  ExactHeader* h = ExactHeaderOf(p);
  AgeTableRemove(AgeSlotOf(*h));  // the table holds the old size: the block leaves the aged sample
  SetAgeSlot(*h, 0);
  if (h->stack_id != 0 && t.busy == 0) {
    RecordFree(t, h->stack_id, h->size, 1.0);
    RecordAlloc(t, h->stack_id, new_size, 1.0);
  }
  h->size = new_size;
}

}  // namespace leaktrace::preload
