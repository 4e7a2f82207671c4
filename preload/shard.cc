#include "preload/shard.h"

namespace leaktrace::preload {
namespace {

// Chunk k holds 64 << k slots and starts at slot 64 * (2^k - 1).
int ChunkOf(uint32_t slot, uint32_t first) {
  return 31 - __builtin_clz(slot / first + 1);
}

}  // namespace

Shard::Shard() : index_(0, IdHash{}, std::equal_to<uint32_t>{}, ArenaAllocator<std::pair<const uint32_t, uint32_t>>(&arena_)) {}

SiteCounters* Shard::Slot(uint32_t i) const {
  const int k = ChunkOf(i, kFirstChunkSlots);
  const uint32_t start = kFirstChunkSlots * ((1u << k) - 1);
  return chunks_[k].load(std::memory_order_acquire) + (i - start);
}

SiteCounters* Shard::CountersForSlow(uint32_t stack_id) {
  SiteCounters* found = nullptr;
  if (auto it = index_.find(stack_id); it != index_.end()) {
    found = Slot(it->second);
  } else {
    found = NewCounters(stack_id);
  }
  if (found != nullptr) counter_cache_[stack_id & (kCounterCacheSize - 1)] = {stack_id, found};
  return found;
}

SiteCounters* Shard::NewCounters(uint32_t stack_id) {
  const uint32_t i = published_.load(std::memory_order_relaxed);
  const int k = ChunkOf(i, kFirstChunkSlots);
  if (k >= kChunks) return nullptr;
  SiteCounters* chunk = chunks_[k].load(std::memory_order_relaxed);
  if (chunk == nullptr) {
    // Zeroed by mmap: all counters start at 0.
    chunk = static_cast<SiteCounters*>(MapMemory(sizeof(SiteCounters) * (kFirstChunkSlots << k)));
    if (chunk == nullptr) return nullptr;
    chunks_[k].store(chunk, std::memory_order_release);
  }
  SiteCounters* slot = Slot(i);
  slot->stack_id.store(stack_id, std::memory_order_relaxed);
  index_.emplace(stack_id, i);
  published_.store(i + 1, std::memory_order_release);
  return slot;
}

}  // namespace leaktrace::preload
