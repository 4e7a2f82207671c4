// The live heap blocks whose birth time is recorded ("aged" blocks), so a
// dump can say how old each one is.
//
// Which blocks: in sampled mode every sampled block (the same samples the
// site figures come from); in exact mode a Poisson sample of its own, drawn
// with the sampled mode's countdown at kExactAgeSampleInterval (a table entry
// for every block would cost every allocation a shared write). Each entry
// stands for its block's Horvitz-Thompson weight, so figures computed from the
// ages are unbiased in both modes: in sampled mode the entry carries it; in
// exact mode every aged block was drawn at exactly its size, so its weight
// is a function of the size (ExactAgedWeight), which the reader computes.
//
// One global table of fixed-size slots, lock-free. A slot's `state` is 0
// (empty), 1 (being written) or the block's birth time (CLOCK_MONOTONIC ns,
// always > 1). Insert: probe from a hash of the block's address for an empty
// slot, CAS 0 -> 1, write the fields, publish the birth with a release
// store; the caller keeps the slot number in the block's header. Remove:
// store 0 into that slot (no probing, no tombstones: nothing ever looks a
// block up by address). The dumper reads state, fields, state again, and
// keeps the entry only when both reads agree: a slot freed and refilled in
// between gets another birth time.
//
// Memory: only the first `limit` slots are probed, and the limit doubles
// when a probe finds them crowded, so the memory touched follows the peak
// number of aged blocks. The first kStaticSlots slots (the limit's first
// value) are static, in the library's .lbss: a process's first aged block
// maps nothing. The rest are one MAP_NORESERVE mapping, made when the
// limit first grows past them. A full table is counted (age_table_full) and the block goes on
// unaged. A fork child keeps its copy: a slot some other thread was writing
// at the fork stays "being written" and is lost, nothing worse.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

#include "preload/heap/sampler.h"
#include "preload/internal/coarse_clock.h"
#include "preload/internal/compiler.h"

namespace leaktrace::preload {

// Mean bytes between the aged blocks of exact mode.
inline constexpr uint64_t kExactAgeSampleInterval = 16 * 1024;

// The weight of an exact-mode entry of `size` bytes: every such entry was
// drawn at exactly that size (a malloc's or a realloc's draw, or a growth
// that continued the block's draw: heap_paths.cc, ReageExact), so it is the
// weight the draw gave, 1/p of that size. The reader computes it (snapshot.cc);
// a growth that keeps a block aged rewrites only its size (AgeTableRegrow).
inline double ExactAgedWeight(uint64_t size) { return SampleWeight(size, kExactAgeSampleInterval); }
// What exact mode stores as an entry's weight: nothing reads it (the
// writer uses ExactAgedWeight), so the paths that age a block compute none.
inline constexpr double kExactEntryWeight = 0;

// The birth time of an aged block, on the coarse clock (coarse_clock.h): the
// precise one cost a fifth of a big block's sampled realloc.
// Async-signal-safe.
inline uint64_t AgeClockNs() { return CoarseMonotonicNs(); }

// Records a live block. Returns its slot + 1, or 0 when it could not be
// recorded (table full or unmappable; counted). Lock-free; never allocates
// through malloc; the calling thread must be busy or inside the heap paths.
uint32_t AgeTableInsert(const void* block, uint32_t stack_id, uint64_t size, double weight, uint64_t birth_ns);

// Rewrites the entry under `slot_plus_one` (a value Insert returned, not
// removed since) for its block's new booking: what Remove then Insert would
// record, keeping the slot (a realloc that keeps its block). A reader sees
// the old entry or the new one, never a mix (the state passes through 1).
void AgeTableUpdate(uint32_t slot_plus_one, uint32_t stack_id, uint64_t size, double weight, uint64_t birth_ns);

// Sampled mode: the entry under `slot_plus_one` (0: nothing) gets a new
// size and weight, its stack id kept, `birth_ns` the block's birth (a
// realloc keeps it: docs/cli.md, "Age"): a realloc that keeps a sampled
// block at its site. Only for the thread that owns the block. Inline,
// below; must not allocate.
inline void AgeTableRebook(uint32_t slot_plus_one, uint64_t size, double weight, uint64_t birth_ns);

// Exact mode: the entry under `slot_plus_one` (0: nothing) gets a new size,
// its stack id and birth kept, its weight left to the reader
// (ExactAgedWeight): a realloc that grows an aged block at its site. Only
// for the thread that owns the block (which alone writes its entry). Inline,
// below; must not allocate.
inline void AgeTableRegrow(uint32_t slot_plus_one, uint64_t size);

// The birth recorded under `slot_plus_one`, for a realloc that rewrites
// the entry and keeps it; 0 when there is none (0, out of range). Only for
// the thread that owns the block. Inline, below.
inline uint64_t AgeTableBirth(uint32_t slot_plus_one);

// Forgets the block recorded under `slot_plus_one` (a value Insert returned;
// 0 is ignored). Lock-free, one store.
void AgeTableRemove(uint32_t slot_plus_one);

struct AgedBlock {
  uint32_t stack_id;
  uint64_t size;
  double weight;
  uint64_t birth_ns;
};

// Calls fn(const AgedBlock&) for every block recorded and not removed, as
// seen at some moment of the walk. Any thread; never stops a writer.
template <typename Fn>
void ForEachAgedBlock(Fn&& fn);

// Blocks that could not be recorded because the table was full.
uint64_t AgeTableFull();
// Bytes of the table that may have been touched (what it costs in memory).
uint64_t AgeTableBytes();
// Where those bytes are: `n` ranges [start[i], start[i] + bytes[i]) (the
// static slots, then the mapping's part in use), returns n (0 before the
// first insert, at most 2). For measuring what of it is resident
// (process_memory.h).
int AgeTableRanges(uintptr_t start[2], uint64_t bytes[2]);

// ---- implementation details -------------------------------------------
namespace age_table_detail {
struct Slot {
  std::atomic<uint64_t> state;  // 0 empty, 1 being written, else birth_ns
  std::atomic<uint32_t> stack_id;
  uint32_t reserved = 0;  // initialised: the static slots must be constant-initialised (no constructor writing them at start-up)
  std::atomic<uint64_t> size;
  std::atomic<double> weight;  // sampled mode's; exact mode's readers use ExactAgedWeight(size)
};
static_assert(sizeof(Slot) == 32);
inline constexpr uint32_t kCapacity = 1u << 20;
inline constexpr uint32_t kStaticSlots = 1024;
// The limit's first value: one page of slots. A process's first aged blocks
// then share a page, where a limit of all the static slots spread them over
// eight (a fault for each of a process's first eight aged blocks, 1-2 us
// each); the limit doubles through the static slots as they crowd.
inline constexpr uint32_t kFirstLimit = 4096 / sizeof(Slot);
static_assert(kFirstLimit <= kStaticSlots && (kFirstLimit & (kFirstLimit - 1)) == 0);
static_assert(kCapacity < (1u << 24), "slot numbers must fit ExactHeader::age_slot");
extern LT_HIDDEN Slot g_static_slots[kStaticSlots];
// The mapping that holds slots kStaticSlots and up (its first kStaticSlots
// entries unused), made when the limit first grows past kStaticSlots.
extern LT_HIDDEN std::atomic<Slot*> g_slots;
// Slots in use: a power of two in [kFirstLimit, kCapacity], above
// kStaticSlots only once g_slots is set; with kLimitUnused added before the
// first insert (the table then counts no bytes). Never 0, so in .data,
// whose page every process has written already: a variable of .bss alone
// on its page cost the first insert two page faults (read, then written).
inline constexpr uint32_t kLimitUnused = 1u << 31;
extern LT_HIDDEN std::atomic<uint32_t> g_limit;

// Slot `index` (< the limit, which the caller has read with acquire), or
// null (a mapping not there).
LT_ALWAYS_INLINE Slot* SlotAt(uint32_t index) {
  if (index < kStaticSlots) return &g_static_slots[index];
  Slot* slots = g_slots.load(std::memory_order_acquire);
  return slots != nullptr ? &slots[index] : nullptr;
}

// The slot of `slot_plus_one`, or null (0, out of range, no table).
LT_ALWAYS_INLINE Slot* SlotOf(uint32_t slot_plus_one) {
  if (slot_plus_one == 0 || slot_plus_one > kCapacity) return nullptr;
  return SlotAt(slot_plus_one - 1);
}

// A rewrite of a slot in use begins: marks it "being written" and returns
// the birth to publish when done (FinishRewrite), never the slot's old one:
// a reader tells the entries apart by their birth. A birth kept across
// rewrites (a realloc keeps the block's) is published 1 ns apart every
// other time, never further off (its low bit flips; AgeTableBirth reads it
// back with that bit clear).
LT_ALWAYS_INLINE uint64_t BeginRewrite(Slot& s, uint64_t birth_ns) {
  if (birth_ns <= 1) birth_ns = 2;  // 0 and 1 are states, not times
  if (s.state.load(std::memory_order_relaxed) == birth_ns) birth_ns ^= 1;
  s.state.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);  // "being written" before the fields change
  return birth_ns;
}
LT_ALWAYS_INLINE void FinishRewrite(Slot& s, uint64_t birth_ns) { s.state.store(birth_ns, std::memory_order_release); }

// The birth of the owner's own entry in `s`, its flipped low bit cleared
// (BeginRewrite); 0 when the slot holds none.
LT_ALWAYS_INLINE uint64_t KeptBirth(const Slot& s) {
  const uint64_t state = s.state.load(std::memory_order_relaxed);
  return state > 1 ? state & ~uint64_t{1} : 0;
}

// AgeTableUpdate's writing of a slot it found.
LT_ALWAYS_INLINE void RewriteSlot(Slot& s, uint32_t stack_id, uint64_t size, double weight, uint64_t birth_ns) {
  birth_ns = BeginRewrite(s, birth_ns);
  s.stack_id.store(stack_id, std::memory_order_relaxed);
  s.size.store(size, std::memory_order_relaxed);
  s.weight.store(weight, std::memory_order_relaxed);
  FinishRewrite(s, birth_ns);
}
}  // namespace age_table_detail

LT_ALWAYS_INLINE void AgeTableRebook(uint32_t slot_plus_one, uint64_t size, double weight, uint64_t birth_ns) {
  using namespace age_table_detail;
  Slot* s = SlotOf(slot_plus_one);
  if (s == nullptr) return;
  birth_ns = BeginRewrite(*s, birth_ns);
  s->size.store(size, std::memory_order_relaxed);
  s->weight.store(weight, std::memory_order_relaxed);
  FinishRewrite(*s, birth_ns);
}

LT_ALWAYS_INLINE uint64_t AgeTableBirth(uint32_t slot_plus_one) {
  using namespace age_table_detail;
  const Slot* s = SlotOf(slot_plus_one);
  return s != nullptr ? KeptBirth(*s) : 0;
}

LT_ALWAYS_INLINE void AgeTableRegrow(uint32_t slot_plus_one, uint64_t size) {
  using namespace age_table_detail;
  Slot* s = SlotOf(slot_plus_one);
  if (s == nullptr) return;
  const uint64_t birth_ns = BeginRewrite(*s, KeptBirth(*s));
  s->size.store(size, std::memory_order_relaxed);
  FinishRewrite(*s, birth_ns);
}

template <typename Fn>
void ForEachAgedBlock(Fn&& fn) {
  using namespace age_table_detail;
  const uint32_t limit = g_limit.load(std::memory_order_acquire);
  if (limit & kLimitUnused) return;
  Slot* const mapped = g_slots.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < limit; ++i) {
    if (i >= kStaticSlots && mapped == nullptr) break;
    Slot& s = i < kStaticSlots ? g_static_slots[i] : mapped[i];
    const uint64_t state = s.state.load(std::memory_order_acquire);
    if (state <= 1) continue;
    AgedBlock b;
    b.stack_id = s.stack_id.load(std::memory_order_relaxed);
    b.size = s.size.load(std::memory_order_relaxed);
    b.weight = s.weight.load(std::memory_order_relaxed);
    b.birth_ns = state;
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.state.load(std::memory_order_relaxed) != state) continue;  // changed while read
    fn(b);
  }
}

}  // namespace leaktrace::preload
