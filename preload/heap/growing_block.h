// Sampled mode: a sampled buffer grown in place by realloc in small steps at
// one call site (a reader appending to a message, a string builder) is
// booked in batches rather than at every step.
//
// Booking a step is a free of the old size and an allocation of the new one
// at the site's counters (resize_record.h), after a lookup of the calling
// stack that confirms the site: about 190 instructions where the real
// allocator grows the block in place in about 100. Each step still has its
// stack compared with the chain the booked step's lookup found (a step
// from another site books at once, as before), but the thread keeps its
// one growing block's steps here, with the header left as it was booked
// (size, weight, offered, age entry), and books them together (Settle...)
// once the block has grown by 1/256 of its booked size, or as soon as
// anything else looks at or changes the block on this thread (its free, a
// realloc that is no such step, malloc_usable_size), or the thread's steps
// move to another block, or the thread ends.
//
// What a reader sees meanwhile: the block's live share at its booked size
// (at most 1/256 of the block behind, the figures of a batch being exact
// once booked), and its steps' allocations and frees not yet counted. A
// batch's steps are counted with the mean of its first and last weights
// (within 1/256 of each step's own: the turnover's estimate is off by less
// than that, the live figures not at all). A block another thread may have
// freed meanwhile (the process runs more than one thread) is never read
// again: its batch books the turnover alone, and the block stays booked at
// its last booked size until this thread's next step of it. (A block
// freed by another thread whose address a new block then takes is told by
// its stack id: one booked at the same site is the same to the figures,
// whose baseline is always the header's.)
//
// The header holds the booked state so that any thread's free books what
// was booked; its usable_extra says the size the program asked at the last
// waiting step (never less: malloc_usable_size stays at least what was
// asked, from any thread), which is also the size a batch books: two
// threads that grow one buffer under a lock (a pool's appenders) each
// book from the header as it is, never below the last step either made.
//
// Contract: owner thread only (the thread's own TLS and shard); never
// allocates; not from a signal handler that interrupted the allocator.
#pragma once

#include <cstdint>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

struct SampledHeader;
struct SiteCounters;
class Shard;
struct ThreadState;
namespace unwind_cache_internal {
struct Way;
struct CacheEntry;
}  // namespace unwind_cache_internal

struct GrowingBlock {
  SampledHeader* header;   // the block whose steps wait; null: none
  SiteCounters* counters;  // its site's, in the thread's shard (`shard`)
  Shard* shard;
  // The unwind cache's way and entry that found the booked step's stack,
  // and the place's key: a step whose stack is another (StillHits, the
  // cache's own test of a hit) books the batch at once.
  const unwind_cache_internal::Way* way;
  const unwind_cache_internal::CacheEntry* entry;
  uintptr_t key;
  double weight;           // the weight booked (the header's, kept here for a block never read again)
  uint64_t settle_at;      // a step to this size or more books the batch
  uint64_t step_bytes;     // the sizes of the steps not booked, summed
  uint32_t steps;          // how many
  uint32_t stack_id;       // the site booked: a block at the same address booked elsewhere is another
};

// A batch is booked once the block grew by this part of its booked size
// (at least a byte; capped so usable_extra's 32 bits hold the difference),
// or after this many steps (so step_bytes cannot overflow).
inline constexpr uint64_t kGrowingBatchPart = 256;
inline constexpr uint64_t kGrowingBatchMaxBytes = uint64_t{1} << 30;
inline constexpr uint32_t kGrowingBatchMaxSteps = 65536;

// Books the thread's waiting steps, if any. `alive`: the block is known to
// be live (the caller holds it); otherwise it is read only when no other
// thread can have freed it (ProcessRunsOneThread), and else its turnover
// alone is booked. Out of line: the steps' common case never calls it.
LT_NOINLINE void SettleGrowingBlock(ThreadState& t, bool alive);

// Before anything on this thread reads or changes the sampled block `h`
// (its free, a realloc that is no waiting step, its usable size): its
// waiting steps, if they are this block's, are booked. One compare. (A
// template: ThreadState, which holds a GrowingBlock, is complete only where
// it is called.)
template <typename State>
LT_ALWAYS_INLINE void SettleIfGrowing(State& t, const SampledHeader* h) {
  if (LT_UNLIKELY(t.growing.header == h)) SettleGrowingBlock(t, /*alive=*/true);
}

}  // namespace leaktrace::preload
