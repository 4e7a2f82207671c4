#include "preload/heap/spare_block.h"

#include <atomic>
#include <cstring>

#include "preload/heap/block_header.h"
#include "preload/interpose/real_functions.h"

namespace leaktrace::preload {
namespace {

// Each slot on a cache line of its own: threads that sample at once do
// not contend on one line.
struct alignas(64) SpareSlot {
  std::atomic<char*> base{nullptr};
};
SpareSlot g_slots[kSpareSlots];
std::atomic<uint64_t> g_held_bytes{0};

// A spare's usable size sits in its own first 8 bytes: dead memory (the
// sampled block it held was forgotten, and its check word, right before
// the old pointer, is left cleared), so a slot is one pointer, swapped whole.
size_t SpareBytes(const char* base) {
  size_t bytes;
  std::memcpy(&bytes, base, sizeof bytes);
  return bytes;
}

bool Fits(char* base, size_t usable, bool aligned) {
  return static_cast<size_t>(SampledPointerIn(base, aligned) - base) + usable <= SpareBytes(base);
}

char* Swap(int slot, char* base) { return g_slots[slot].base.exchange(base, std::memory_order_acq_rel); }

}  // namespace

void KeepOrFreeSampledBase(char* base) {
  const size_t bytes = real.malloc_usable_size(base);
  if (bytes <= kSpareMaxBytes && bytes >= kSampledSlack) {
    std::memcpy(base, &bytes, sizeof bytes);
    for (int slot = 0; slot < kSpareSlots; ++slot) {
      if (g_slots[slot].base.load(std::memory_order_relaxed) != nullptr) continue;
      g_held_bytes.fetch_add(bytes, std::memory_order_relaxed);
      char* displaced = Swap(slot, base);
      if (displaced == nullptr) return;
      // Another thread filled the slot in between: go on with its block.
      base = displaced;
      g_held_bytes.fetch_sub(SpareBytes(base), std::memory_order_relaxed);
    }
  }
  real.free(base);
}

char* TakeSpareBase(size_t usable, bool aligned, bool zero) {
  for (int slot = 0; slot < kSpareSlots; ++slot) {
    if (g_slots[slot].base.load(std::memory_order_relaxed) == nullptr) continue;
    char* base = Swap(slot, nullptr);
    if (base == nullptr) continue;
    if (Fits(base, usable, aligned)) {
      g_held_bytes.fetch_sub(SpareBytes(base), std::memory_order_relaxed);
      // All of it from the block on, not just `usable`: a fresh calloc'd
      // block is zero to its end, and a resize that zeroes only what it
      // adds (jemalloc's rallocx with MALLOCX_ZERO) relies on that.
      if (zero) {
        char* p = SampledPointerIn(base, aligned);
        std::memset(p, 0, SpareBytes(base) - static_cast<size_t>(p - base));
      }
      return base;
    }
    // Too small for this block: back in its slot (one that another
    // thread put there meanwhile is given back to the real allocator).
    if (char* displaced = Swap(slot, base)) {
      g_held_bytes.fetch_sub(SpareBytes(displaced), std::memory_order_relaxed);
      real.free(displaced);
    }
  }
  return nullptr;
}

uint64_t SpareBytesHeld() { return g_held_bytes.load(std::memory_order_relaxed); }

}  // namespace leaktrace::preload
