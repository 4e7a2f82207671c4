// Every distinct call stack the process has allocated from, deduplicated and
// given a small dense id (1, 2, 3 ...). Looked up by its XXH3 hash; a hash
// match is confirmed by comparing the frames (two stacks sharing a hash get
// two ids: nothing is ever attributed to a stack it did not come from).
//
// Lock-free and insert-only: a stack, once in, is never removed, so readers
// need no protection. The table grows by adding a generation twice as large;
// lookups search every generation. Rarely, two threads racing on one new
// stack across a growth both insert it: two ids for one stack, which the
// reporter folds together (it keys sites by their frames).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "preload/internal/arena.h"

namespace leaktrace::preload {

inline constexpr uint32_t kMaxStacks = 1u << 24;
// Id of a slot whose insertion failed (out of memory, table full): readers skip it.
inline constexpr uint32_t kPoisonedId = UINT32_MAX;
// What InternStack returns for a stack not in the table when the table has
// handed out `max_id` ids already: the caller folds it (stack_ids.cc).
inline constexpr uint32_t kOverBudgetId = UINT32_MAX - 1;

struct StackView {
  uint32_t id;
  uint16_t depth;
  uint16_t flags;  // format::kStackTruncated
  const uint64_t* pcs;
};

// Returns the id of this stack, inserting it (pcs copied into `arena`, the
// caller's own) unless `max_id` ids are out already: then kOverBudgetId (a
// soft limit: threads racing past it may take a few more). Returns 0 when
// the table is full (kMaxStacks) or memory ran out; the caller counts that
// as a dropped stack. `stored`, when given, receives the table's own copy
// of the frames (immutable, lives as long as the process). Any thread;
// lock-free.
uint32_t InternStack(uint64_t hash, const uint64_t* pcs, uint32_t depth, uint16_t flags, Arena& arena,
                     const uint64_t** stored = nullptr, uint32_t max_id = kMaxStacks);

// Calls fn(const StackView&) for every stack inserted so far. Any thread.
template <typename Fn>
void ForEachStack(Fn&& fn);

// Highest id handed out so far.
uint32_t MaxStackId();
// Slots in use and allocated, for the self-health section.
uint64_t StackTableSlots();

// ---- implementation details -------------------------------------------

struct StackSlot {
  std::atomic<uint64_t> hash;  // 0: empty
  std::atomic<uint32_t> id;    // 0: being filled in
  uint16_t depth;
  uint16_t flags;
  const uint64_t* pcs;
};

struct StackGeneration {
  std::atomic<uint64_t> capacity;  // power of two; set before the generation is published
  std::atomic<uint64_t> used;
  std::atomic<StackGeneration*> next;
  // The slots given an id, in the order they got it (index + 1; 0: being
  // written): what ForEachStack visits, so that a dump reads the slots in
  // use, not the whole table (mostly never touched: reading it faulted in
  // a zero page per 4 KiB, some 100 of them at every process's exit dump).
  // `listed` entries of list() are claimed.
  std::atomic<uint64_t> listed;
  std::atomic<uint64_t> frames_bytes;  // of frames(): 0 but in the first generation
  std::atomic<uint64_t> frames_used;   // bytes of frames() handed out (may run past frames_bytes)
  // Then: kFirstFramesBytes of frames (the first generation only: the
  // frames of its first stacks, on the header's page), capacity uint32
  // list entries (the first ones on the header's page too), capacity
  // slots. A process's first stack so touches two pages of the table (the
  // header's and its slot's), not four, and maps nothing.
  uint64_t* frames() { return reinterpret_cast<uint64_t*>(this + 1); }
  std::atomic<uint32_t>* list() {
    return reinterpret_cast<std::atomic<uint32_t>*>(reinterpret_cast<char*>(this + 1) + FramesBytes());
  }
  StackSlot* slots() { return reinterpret_cast<StackSlot*>(list() + capacity.load(std::memory_order_relaxed)); }
  size_t FramesBytes() const { return frames_bytes.load(std::memory_order_relaxed); }
};

StackGeneration* FirstStackGeneration();
StackGeneration* FirstStackGeneration();

template <typename Fn>
void ForEachStack(Fn&& fn) {
  for (StackGeneration* g = FirstStackGeneration(); g != nullptr; g = g->next.load(std::memory_order_acquire)) {
    const uint64_t listed = std::min(g->listed.load(std::memory_order_acquire), g->capacity.load(std::memory_order_relaxed));
    std::atomic<uint32_t>* list = g->list();
    const StackSlot* slots = g->slots();
    for (uint64_t k = 0; k < listed; ++k) {
      const uint32_t index = list[k].load(std::memory_order_relaxed);
      if (index == 0) continue;  // a stack still being interned: as if it came after this walk
      const StackSlot& s = slots[index - 1];
      const uint32_t id = s.id.load(std::memory_order_acquire);
      if (id != 0 && id != kPoisonedId) fn(StackView{id, s.depth, s.flags, s.pcs});
    }
  }
}

}  // namespace leaktrace::preload
