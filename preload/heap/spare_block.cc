#include "preload/heap/spare_block.h"

#include <atomic>
#include <cstring>

#include "preload/heap/block_header.h"
#include "preload/internal/compiler.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/thread_state.h"

namespace leaktrace::preload {
namespace {

// Each slot on a cache line of its own, and each thread starts its search
// at a slot of its own (HomeSlot): threads that sample at once mostly
// touch different lines. `bytes` is the held block's size for a snapshot's
// sum (SpareBytesHeld), written before the block is put in and never
// cleared: a slot's block is counted only while `base` holds one.
struct alignas(64) SpareSlot {
  std::atomic<char*> base{nullptr};
  std::atomic<uint64_t> bytes{0};
};
SpareSlot g_slots[kSpareSlots];

// Sampled frees since the last sampled allocation that looked for a spare.
// A held block pins glibc's heap where it lies: nothing above it can join
// the top and be trimmed. So a run of frees with no sample to reuse a spare
// (a program tearing down what it built: CPython dropping a big list frees
// it last item first) gives every spare back once it passes kSpareSlots,
// and keeps none until a sampled allocation comes: a program that freed
// 100 MB of 2,000-byte blocks, last first, kept 99 MB resident and its
// heap's whole span, where plainly both went back.
std::atomic<uint32_t> g_frees_unreused{0};

void FreeEverySpare() {
  for (int slot = 0; slot < kSpareSlots; ++slot)
    if (g_slots[slot].base.load(std::memory_order_relaxed) != nullptr)
      if (char* held = g_slots[slot].base.exchange(nullptr, std::memory_order_acq_rel)) real.free(held);
}

// A spare's usable size also sits in its own first 8 bytes: dead memory
// (the sampled block it held was forgotten, and its check word, right
// before the old pointer, is left cleared), which only its holder reads.
size_t SpareBytes(const char* base) {
  size_t bytes;
  std::memcpy(&bytes, base, sizeof bytes);
  return bytes;
}

bool Fits(char* base, size_t usable, bool aligned) {
  return static_cast<size_t>(SampledPointerIn(base, aligned) - base) + usable <= SpareBytes(base);
}

char* Swap(int slot, char* base) { return g_slots[slot].base.exchange(base, std::memory_order_acq_rel); }

// Threads' states lie a stack apart (megabytes, page-aligned strides):
// their page numbers, mixed, spread the threads over the slots.
int HomeSlot() {
  const uint64_t page = reinterpret_cast<uintptr_t>(&t_state) >> 12;
  return static_cast<int>(((page * 0x9E3779B97F4A7C15ULL) >> 32) % kSpareSlots);
}

}  // namespace

void KeepOrFreeSampledBase(char* base, bool resized) {
  if (resized || !RealUsableSizeIsTheAllocators()) {  // a spare's size is the allocator's measure
    real.free(base);
    return;
  }
  const uint32_t unreused = g_frees_unreused.fetch_add(1, std::memory_order_relaxed) + 1;
  if (LT_UNLIKELY(unreused > kSpareSlots)) {
    FreeEverySpare();  // loads alone once they are gone (and one another thread kept meanwhile)
    real.free(base);
    return;
  }
  const size_t bytes = real.malloc_usable_size(base);
  if (bytes <= kSpareMaxBytes && bytes >= kSampledSlack) {
    std::memcpy(base, &bytes, sizeof bytes);
    const int home = HomeSlot();
    for (int i = 0; i < kSpareSlots; ++i) {
      const int slot = (home + i) % kSpareSlots;
      if (g_slots[slot].base.load(std::memory_order_relaxed) != nullptr) continue;
      g_slots[slot].bytes.store(SpareBytes(base), std::memory_order_relaxed);
      char* displaced = Swap(slot, base);
      if (displaced == nullptr) return;
      // Another thread filled the slot in between: go on with its block.
      base = displaced;
    }
  }
  real.free(base);
}

char* TakeSpareBase(size_t usable, bool aligned, bool zero) {
  if (g_frees_unreused.load(std::memory_order_relaxed) != 0) g_frees_unreused.store(0, std::memory_order_relaxed);
  // A block no spare can hold asks no slot: the two exchanges a slot costs
  // to look into, ten times over, were a tenth of the time of a program
  // allocating blocks of 1-200 KB (a fifth of which are samples).
  if (usable > kSpareMaxBytes - kSampledOffset) return nullptr;
  const int home = HomeSlot();
  for (int i = 0; i < kSpareSlots; ++i) {
    const int slot = (home + i) % kSpareSlots;
    if (g_slots[slot].base.load(std::memory_order_relaxed) == nullptr) continue;
    // The size of the block last put in (a hint: another may have gone in
    // meanwhile, and the block taken is measured again below).
    if (g_slots[slot].bytes.load(std::memory_order_relaxed) < usable + kSampledOffset) continue;
    char* base = Swap(slot, nullptr);
    if (base == nullptr) continue;
    if (Fits(base, usable, aligned)) {
      // All of it from the block on, not just `usable`: a fresh calloc'd
      // block is zero to its end, and a resize that zeroes only what it
      // adds (jemalloc's rallocx with MALLOCX_ZERO) relies on that.
      if (zero) {
        char* p = SampledPointerIn(base, aligned);
        std::memset(p, 0, SpareBytes(base) - static_cast<size_t>(p - base));
      }
      return base;
    }
    // Too small for this block: back in its slot (one that another thread
    // put there meanwhile is given back to the real allocator).
    g_slots[slot].bytes.store(SpareBytes(base), std::memory_order_relaxed);
    if (char* displaced = Swap(slot, base)) real.free(displaced);
  }
  return nullptr;
}

uint64_t SpareBytesHeld() {
  // Racy by design (a block put in or taken meanwhile): off by a block or
  // two at most, for a figure that is an estimate anyway.
  uint64_t held = 0;
  for (const SpareSlot& slot : g_slots)
    if (slot.base.load(std::memory_order_relaxed) != nullptr) held += slot.bytes.load(std::memory_order_relaxed);
  return held;
}

}  // namespace leaktrace::preload
