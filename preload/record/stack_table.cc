#include "preload/record/stack_table.h"

#include <sched.h>

#include <cstring>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {
namespace {

// The first generation's slots. Small: a process's stacks land on its
// slots' pages at random (by hash), so each of its first stacks cost a page
// fault or two while the table had pages left untouched. With 16,384 slots
// (96 pages), the compiler driver of a build (gcc, some 230 stacks in exact
// mode) faulted in 90 of them, `as` (100 stacks) 65: 170 and 130 faults
// at every start of either. 1,024 slots are 6 pages, half of them used
// before the next generation (twice as large) is made; a process with
// thousands of stacks (cc1) makes a few more generations, looked through
// one probe each.
constexpr uint64_t kFirstCapacity = 1 << 10;
constexpr size_t kPageBytes = 4096;

std::atomic<StackGeneration*> g_first{nullptr};
std::atomic<uint32_t> g_next_id{1};

constexpr size_t GenerationBytes(uint64_t capacity, size_t frames_bytes) {
  return sizeof(StackGeneration) + frames_bytes + capacity * (sizeof(uint32_t) + sizeof(StackSlot));
}

// The first generation's frames: the rest of the header's first half-page
// (a few dozen stacks' worth), so that the list's first 512 entries share
// the header's page too.
constexpr size_t kFirstFramesBytes = kPageBytes / 2 - sizeof(StackGeneration);
constexpr size_t kFirstGenerationBytes = GenerationBytes(kFirstCapacity, kFirstFramesBytes);
static_assert(sizeof(StackGeneration) % alignof(uint64_t) == 0 && kFirstFramesBytes % alignof(StackSlot) == 0);

// The first generation is static (zero, in the library's .lbss): every
// process that captures a stack needs it, and a mapping of its own cost
// the first capture an mmap. Untouched pages of it cost nothing, as those
// of a mapping.
LT_LARGE_STATIC alignas(kPageBytes) char g_first_storage[kFirstGenerationBytes];

// The first generation, set up (any thread may get here first: each
// writes the same values before the publication in Publish).
StackGeneration* FirstGenerationStorage() {
  auto* g = reinterpret_cast<StackGeneration*>(g_first_storage);
  g->capacity.store(kFirstCapacity, std::memory_order_relaxed);
  g->frames_bytes.store(kFirstFramesBytes, std::memory_order_relaxed);
  return g;
}

StackGeneration* NewGeneration(uint64_t capacity) {
  // mmap'd memory is zeroed: every slot starts empty.
  auto* g = static_cast<StackGeneration*>(MapMemory(GenerationBytes(capacity, 0)));
  if (g != nullptr) g->capacity.store(capacity, std::memory_order_relaxed);
  return g;
}

// Publishes `fresh` after `tail` (or as the first), or frees it if another
// thread got there first. Returns the generation now in that place.
StackGeneration* Publish(std::atomic<StackGeneration*>& link, StackGeneration* fresh) {
  StackGeneration* expected = nullptr;
  if (link.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
    // Counted as the tracker's memory as a mapping would be (health, the
    // memory section's leaktrace figures), measured page by page.
    if (fresh == reinterpret_cast<StackGeneration*>(g_first_storage)) CountStaticMemory(fresh, kFirstGenerationBytes);
    return fresh;
  }
  if (fresh != reinterpret_cast<StackGeneration*>(g_first_storage))
    UnmapMemory(fresh, GenerationBytes(fresh->capacity.load(std::memory_order_relaxed), 0));
  return expected;
}

// A copy of a stack's frames: from the generation's own frames while they
// last (the first generation's, on its header's page), else from `arena`.
uint64_t* CopyFrames(StackGeneration& g, const uint64_t* pcs, uint32_t depth, Arena& arena) {
  const size_t bytes = depth * sizeof(uint64_t);
  uint64_t* copy = nullptr;
  if (g.frames_used.load(std::memory_order_relaxed) + bytes <= g.FramesBytes()) {
    const uint64_t at = g.frames_used.fetch_add(bytes, std::memory_order_relaxed);
    if (at + bytes <= g.FramesBytes()) copy = g.frames() + at / sizeof(uint64_t);
  }
  if (copy == nullptr) copy = static_cast<uint64_t*>(arena.Allocate(bytes));
  if (copy != nullptr) std::memcpy(copy, pcs, bytes);
  return copy;
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
  for (StackGeneration* g = FirstStackGeneration(); g; g = g->next.load(std::memory_order_acquire))
    n += g->capacity.load(std::memory_order_relaxed);
  return n;
}

uint32_t InternStack(uint64_t hash, const uint64_t* pcs, uint32_t depth, uint16_t flags, Arena& arena,
                     const uint64_t** stored, uint32_t max_id) {
  if (hash == 0) hash = 1;
  StackGeneration* g = FirstStackGeneration();
  if (g == nullptr) {
    g = Publish(g_first, FirstGenerationStorage());
  }
  for (;;) {
    StackGeneration* next = g->next.load(std::memory_order_acquire);
    const uint64_t capacity = g->capacity.load(std::memory_order_relaxed);
    const uint64_t mask = capacity - 1;
    StackSlot* const slots = g->slots();
    // A generation nothing was put in yet (a process's first stack, and
    // each new generation's): its slot is empty, so no load before the
    // swap (a load of a page never touched maps the zero page, and the
    // swap then faults again to write).
    bool empty = next == nullptr && g->used.load(std::memory_order_relaxed) == 0;
    for (uint64_t i = hash & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
      StackSlot& s = slots[i];
      uint64_t h = empty ? 0 : s.hash.load(std::memory_order_acquire);
      empty = false;
      if (h == 0) {
        if (next != nullptr) break;  // not here; older generations take no inserts
        // Keep every generation at most half full so probes stay short.
        if (g->used.load(std::memory_order_relaxed) * 2 >= capacity) break;
        // A new stack: within the caller's budget? (Checked before the
        // slot is claimed, so a stack refused leaves nothing behind.)
        if (g_next_id.load(std::memory_order_relaxed) > max_id) return kOverBudgetId;
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
      uint64_t* copy = CopyFrames(*g, pcs, depth, arena);
      const uint32_t id = g_next_id.fetch_add(1, std::memory_order_relaxed);
      if (copy == nullptr || id >= kMaxStacks) {
        s.id.store(kPoisonedId, std::memory_order_release);
        return 0;
      }
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
      if (g_next_id.load(std::memory_order_relaxed) > max_id) return kOverBudgetId;  // no generation for it
      StackGeneration* fresh = NewGeneration(capacity * 2);
      if (fresh == nullptr) return 0;
      next = Publish(g->next, fresh);
    }
    g = next;
  }
}

}  // namespace leaktrace::preload
