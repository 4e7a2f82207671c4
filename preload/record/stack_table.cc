#include "preload/record/stack_table.h"

#include <sched.h>

#include <cstring>

namespace leaktrace::preload {
namespace {

constexpr uint64_t kFirstCapacity = 1 << 14;

std::atomic<StackGeneration*> g_first{nullptr};
std::atomic<uint32_t> g_next_id{1};

size_t GenerationBytes(uint64_t capacity) {
  return sizeof(StackGeneration) + (capacity - 1) * sizeof(StackSlot) + capacity * sizeof(uint32_t);
}

StackGeneration* NewGeneration(uint64_t capacity) {
  // mmap'd memory is zeroed: every slot starts empty.
  auto* g = static_cast<StackGeneration*>(MapMemory(GenerationBytes(capacity)));
  if (g != nullptr) g->capacity = capacity;
  return g;
}

// Publishes `fresh` after `tail` (or as the first), or frees it if another
// thread got there first. Returns the generation now in that place.
StackGeneration* Publish(std::atomic<StackGeneration*>& link, StackGeneration* fresh) {
  StackGeneration* expected = nullptr;
  if (link.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return fresh;
  UnmapMemory(fresh, GenerationBytes(fresh->capacity));
  return expected;
}

// Waits for a slot claimed by another thread to get its id (a few stores away).
// Returns 0 for a poisoned slot (see kPoisonedId).
uint32_t AwaitId(const StackSlot& s) {
  uint32_t id;
  while ((id = s.id.load(std::memory_order_acquire)) == 0) sched_yield();
  return id == kPoisonedId ? 0 : id;
}

bool SameStack(const StackSlot& s, const uint64_t* pcs, uint32_t depth, uint16_t flags) {
  return s.depth == depth && s.flags == flags && std::memcmp(s.pcs, pcs, depth * sizeof(uint64_t)) == 0;
}

}  // namespace

StackGeneration* FirstStackGeneration() { return g_first.load(std::memory_order_acquire); }

uint32_t MaxStackId() { return g_next_id.load(std::memory_order_relaxed) - 1; }

uint64_t StackTableSlots() {
  uint64_t n = 0;
  for (StackGeneration* g = FirstStackGeneration(); g; g = g->next.load(std::memory_order_acquire)) n += g->capacity;
  return n;
}

uint32_t InternStack(uint64_t hash, const uint64_t* pcs, uint32_t depth, uint16_t flags, Arena& arena,
                     const uint64_t** stored) {
  if (hash == 0) hash = 1;
  StackGeneration* g = FirstStackGeneration();
  if (g == nullptr) {
    StackGeneration* fresh = NewGeneration(kFirstCapacity);
    if (fresh == nullptr) return 0;
    g = Publish(g_first, fresh);
  }
  for (;;) {
    StackGeneration* next = g->next.load(std::memory_order_acquire);
    const uint64_t mask = g->capacity - 1;
    for (uint64_t i = hash & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
      StackSlot& s = g->slots[i];
      uint64_t h = s.hash.load(std::memory_order_acquire);
      if (h == 0) {
        if (next != nullptr) break;  // not here; older generations take no inserts
        // Keep every generation at most half full so probes stay short.
        if (g->used.load(std::memory_order_relaxed) * 2 >= g->capacity) break;
        if (s.hash.compare_exchange_strong(h, hash, std::memory_order_acq_rel)) h = 0;  // ours: fill it below
      }
      if (h != 0) {
        // Taken: this stack, another one with the same hash, or another hash.
        if (h != hash) continue;
        const uint32_t id = AwaitId(s);
        if (id != 0 && SameStack(s, pcs, depth, flags)) {
          if (stored != nullptr) *stored = s.pcs;
          return id;
        }
        continue;  // a collision (or a poisoned slot): keep probing
      }
      g->used.fetch_add(1, std::memory_order_relaxed);
      auto* copy = static_cast<uint64_t*>(arena.Allocate(depth * sizeof(uint64_t)));
      const uint32_t id = g_next_id.fetch_add(1, std::memory_order_relaxed);
      if (copy == nullptr || id >= kMaxStacks) {
        s.id.store(kPoisonedId, std::memory_order_release);
        return 0;
      }
      std::memcpy(copy, pcs, depth * sizeof(uint64_t));
      s.depth = static_cast<uint16_t>(depth);
      s.flags = flags;
      s.pcs = copy;
      s.id.store(id, std::memory_order_release);
      // Each slot is claimed once, so the list (capacity entries) has room.
      g->list()[g->listed.fetch_add(1, std::memory_order_acq_rel)].store(static_cast<uint32_t>(i + 1),
                                                                       std::memory_order_release);
      if (stored != nullptr) *stored = copy;
      return id;
    }
    if (next == nullptr) {
      StackGeneration* fresh = NewGeneration(g->capacity * 2);
      if (fresh == nullptr) return 0;
      next = Publish(g->next, fresh);
    }
    g = next;
  }
}

}  // namespace leaktrace::preload
