#include "preload/record/stack_ids.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "preload/internal/health.h"
#include "preload/record/shard.h"
#include "preload/record/shard_registry.h"
#include "preload/record/stack_table.h"
#include "preload/record/unwinder.h"

namespace leaktrace::preload {

uint32_t InternCaptured(Shard* shard, const CapturedStack& stack, uint64_t* hash_out) {
  const uint16_t flags = stack.truncated ? 1 : 0;
  const uint64_t hash = XXH3_64bits(stack.pcs, stack.depth * sizeof(uint64_t)) ^ flags;
  if (hash_out != nullptr) *hash_out = hash;
  if (shard != nullptr) {
    if (uint32_t id = shard->CachedStackId(hash, stack.pcs, stack.depth, flags)) return id;
  }
  Arena& arena = shard != nullptr ? shard->arena() : OrphanShard().arena();
  SpinLock* orphan_lock = shard == nullptr ? &OrphanLock() : nullptr;
  if (orphan_lock) orphan_lock->Lock();
  const uint64_t* stored = nullptr;
  const uint32_t id = InternStack(hash, stack.pcs, stack.depth, flags, arena, &stored);
  if (orphan_lock) orphan_lock->Unlock();
  if (id == 0) {
    g_health.dropped_stacks.fetch_add(1, std::memory_order_relaxed);
  } else if (shard != nullptr) {
    shard->CacheStackId(hash, id, stored, stack.depth, flags);
  }
  return id;
}

uint32_t NoFrameStackId() {
  CapturedStack empty;
  empty.depth = 0;
  empty.truncated = false;
  return InternCaptured(nullptr, empty);
}

}  // namespace leaktrace::preload
