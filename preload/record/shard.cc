#include "preload/record/shard.h"

#include <string.h>

namespace leaktrace::preload {
namespace {

// Chunk k holds 8 << k slots and starts at slot 8 * (2^k - 1).
int ChunkOf(uint32_t slot, uint32_t first) {
  return 31 - __builtin_clz(slot / first + 1);
}

}  // namespace

SiteCounters* Shard::Slot(uint32_t i) const {
  const int k = ChunkOf(i, kFirstChunkSlots);
  const uint32_t start = kFirstChunkSlots * ((1u << k) - 1);
  return chunks_[k].load(std::memory_order_acquire) + (i - start);
}

void Shard::CacheStackId(uint64_t hash, uint32_t id, const uint64_t* stored_pcs, uint32_t depth, uint16_t flags) {
  if (stack_cache_ == nullptr) {
    void* memory = arena_.Allocate(sizeof(StackCacheEntry) * kStackCacheSize);
    if (memory == nullptr) return;  // a cache: go on without it
    memset(memory, 0, sizeof(StackCacheEntry) * kStackCacheSize);
    stack_cache_ = static_cast<StackCacheEntry*>(memory);
  }
  if (stored_pcs == nullptr) return;
  stack_cache_[hash & (kStackCacheSize - 1)] = {hash, id, static_cast<uint16_t>(depth), flags, stored_pcs};
}

SiteCounters* Shard::CountersForSlow(uint32_t stack_id) {
  for (uint32_t i = IndexHash(stack_id) & index_mask_;; i = (i + 1) & index_mask_) {  // kNoIndex: empty
    const IndexEntry& e = index_[i];
    if (e.stack_id == stack_id) return e.counters;
    if (e.stack_id == 0) break;
  }
  return NewCounters(stack_id);
}

bool Shard::GrowIndex() {
  const uint32_t capacity = index_ == kNoIndex ? kFirstIndexSize : (index_mask_ + 1) * 2;
  auto* fresh = static_cast<IndexEntry*>(arena_.Allocate(sizeof(IndexEntry) * capacity));
  if (fresh == nullptr) return false;
  // Cleared even when mapped on its own (zero already; a reused arena block
  // holds old bytes): the old entries go in at random places, a quarter of
  // the new index, so every page of it is written anyway, and a page of a
  // fresh mapping read first (the probe of an empty entry) costs two faults,
  // the zero page's and the copy's, where a write costs one (cc1 in exact
  // mode, 4,400 sites: 224 faults in its index's growths).
  memset(static_cast<void*>(fresh), 0, sizeof(IndexEntry) * capacity);
  IndexEntry* old = index_;
  const uint32_t old_capacity = old == kNoIndex ? 0 : index_mask_ + 1;
  index_ = fresh;
  index_mask_ = capacity - 1;
  index_used_ = 0;
  for (uint32_t i = 0; i < old_capacity; ++i)
    if (old[i].stack_id != 0) InsertIndex(old[i].stack_id, old[i].counters);
  if (old != kNoIndex) arena_.Deallocate(old, sizeof(IndexEntry) * old_capacity);
  return true;
}

void Shard::InsertIndex(uint32_t stack_id, SiteCounters* counters) {
  uint32_t i = IndexHash(stack_id) & index_mask_;
  while (index_[i].stack_id != 0) i = (i + 1) & index_mask_;
  index_[i] = {stack_id, counters};
  ++index_used_;
}

SiteCounters* Shard::NewCounters(uint32_t stack_id) {
  // At most half full: probes stay short, and an empty entry always ends one.
  if ((index_used_ + 1) * 2 > index_mask_ + 1 && !GrowIndex()) return nullptr;  // kNoIndex: 2 > 1
  const uint32_t i = published_.load(std::memory_order_relaxed);
  const int k = ChunkOf(i, kFirstChunkSlots);
  if (k >= kChunks) return nullptr;
  SiteCounters* chunk = chunks_[k].load(std::memory_order_relaxed);
  if (chunk == nullptr) {
    // Chunks are never given back: readers may be in them at any time. The
    // arena maps the big ones on their own.
    const size_t bytes = sizeof(SiteCounters) * (kFirstChunkSlots << k);
    chunk = static_cast<SiteCounters*>(arena_.Allocate(bytes));
    if (chunk == nullptr) return nullptr;
    if (!Arena::MappedAlone(bytes)) memset(static_cast<void*>(chunk), 0, bytes);  // all counters start at 0
    chunks_[k].store(chunk, std::memory_order_release);
  }
  SiteCounters* slot = Slot(i);
  slot->stack_id.store(stack_id, std::memory_order_relaxed);
  InsertIndex(stack_id, slot);
  published_.store(i + 1, std::memory_order_release);
  return slot;
}

}  // namespace leaktrace::preload
