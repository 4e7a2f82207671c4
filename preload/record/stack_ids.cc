#include "preload/record/stack_ids.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "format/dump_layout.h"
#include "preload/internal/compiler.h"
#include "preload/internal/health.h"
#include "preload/internal/mode.h"
#include "preload/record/shard.h"
#include "preload/record/shard_registry.h"
#include "preload/record/stack_table.h"
#include "preload/record/unwinder.h"

namespace leaktrace::preload {

namespace {

// A stack past the budget is booked under its innermost kFoldedFrames
// frames (the allocating function and its nearest callers: what a report
// of the site most needs), as a stack of its own flagged folded. Past twice
// the budget, under its innermost frame alone: the number of those is
// bounded by the program's call sites, so the table stops growing while
// every event is still counted somewhere true.
constexpr uint32_t kFoldedFrames = 8;

uint32_t Intern(Shard* shard, const uint64_t* pcs, uint32_t depth, uint16_t flags, uint32_t max_id,
                uint64_t* hash_out) {
  const uint64_t hash = XXH3_64bits(pcs, depth * sizeof(uint64_t)) ^ flags;
  if (hash_out != nullptr) *hash_out = hash;
  if (shard != nullptr) {
    if (uint32_t id = shard->CachedStackId(hash, pcs, depth, flags)) return id;
  }
  Arena& arena = shard != nullptr ? shard->arena() : OrphanShard().arena();
  SpinLock* orphan_lock = shard == nullptr ? &OrphanLock() : nullptr;
  if (orphan_lock) orphan_lock->Lock();
  const uint64_t* stored = nullptr;
  const uint32_t id = InternStack(hash, pcs, depth, flags, arena, &stored, max_id);
  if (orphan_lock) orphan_lock->Unlock();
  if (id != 0 && id != kOverBudgetId && shard != nullptr) shard->CacheStackId(hash, id, stored, depth, flags);
  return id;
}

// Out of line: taken only once the budget is spent. A stack of up to
// kFoldedFrames frames is kept whole. A folded stack drops the truncated
// flag: it is cut either way, and one site is clearer than two.
LT_NOINLINE uint32_t InternFolded(Shard* shard, const CapturedStack& stack) {
  g_health.folded_stacks.fetch_add(1, std::memory_order_relaxed);
  const uint32_t budget = g_config.max_stacks;
  const uint32_t wider = budget < kMaxStacks / 2 ? budget * 2 : kMaxStacks;
  auto flags_for = [&](uint32_t kept) -> uint16_t {
    return kept < stack.depth ? format::kStackFolded : (stack.truncated ? format::kStackTruncated : 0);
  };
  const uint32_t kept = stack.depth < kFoldedFrames ? stack.depth : kFoldedFrames;
  uint32_t id = Intern(shard, stack.pcs, kept, flags_for(kept), wider, nullptr);
  if (id == kOverBudgetId) {
    const uint32_t innermost = stack.depth < 1 ? stack.depth : 1;
    id = Intern(shard, stack.pcs, innermost, flags_for(innermost), kMaxStacks, nullptr);
  }
  return id == kOverBudgetId ? 0 : id;
}

}  // namespace

uint32_t InternCaptured(Shard* shard, const CapturedStack& stack, uint64_t* hash_out) {
  const uint16_t flags = stack.truncated ? format::kStackTruncated : 0;
  uint32_t id = Intern(shard, stack.pcs, stack.depth, flags, g_config.max_stacks, hash_out);
  if (id == kOverBudgetId) id = InternFolded(shard, stack);
  if (id == 0) g_health.dropped_stacks.fetch_add(1, std::memory_order_relaxed);
  return id;
}

uint32_t NoFrameStackId() {
  CapturedStack empty;
  empty.depth = 0;
  empty.truncated = false;
  return InternCaptured(nullptr, empty);
}

}  // namespace leaktrace::preload
