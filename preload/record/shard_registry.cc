#include "preload/record/shard_registry.h"
#include "preload/internal/compiler.h"

#include <new>

namespace leaktrace::preload {

std::atomic<Shard*> g_all_shards{nullptr};

namespace {

LT_FORK_LOCK SpinLock g_pool_lock;
Shard* g_pool = nullptr;
// Shards themselves are small: packed into one arena rather than a page
// each. Its lock is taken last (NewShard runs under the orphan lock).
LT_FORK_LOCK SpinLock g_memory_lock;
Arena g_shard_memory;
// Only if even mapping the orphan shard failed. Constant-initialised: no
// guard variable, no static constructor (nothing from libstdc++).
constinit Shard g_fallback_shard;
LT_FORK_LOCK SpinLock g_orphan_lock;
Shard* g_orphan = nullptr;
std::atomic<uint64_t> g_shard_count{0};

Shard* NewShard() {
  void* memory;
  {
    SpinGuard guard(g_memory_lock);
    memory = g_shard_memory.Allocate(sizeof(Shard));
  }
  if (memory == nullptr) return nullptr;
  Shard* shard = new (memory) Shard();
  shard->next_in_registry = g_all_shards.load(std::memory_order_relaxed);
  while (!g_all_shards.compare_exchange_weak(shard->next_in_registry, shard, std::memory_order_release,
                                              std::memory_order_relaxed)) {
  }
  g_shard_count.fetch_add(1, std::memory_order_relaxed);
  return shard;
}

}  // namespace

Shard* AcquireShard() {
  {
    SpinGuard guard(g_pool_lock);
    if (Shard* s = g_pool) {
      g_pool = s->next_free;
      s->next_free = nullptr;
      return s;
    }
  }
  return NewShard();
}

void ReleaseShard(Shard* shard) {
  SpinGuard guard(g_pool_lock);
  shard->next_free = g_pool;
  g_pool = shard;
}

Shard& OrphanShard() {
  // Called with OrphanLock() held.
  if (g_orphan == nullptr) g_orphan = NewShard();
  return g_orphan ? *g_orphan : g_fallback_shard;
}

SpinLock& OrphanLock() { return g_orphan_lock; }

uint64_t ShardCount() { return g_shard_count.load(std::memory_order_relaxed); }

void RegistryPrepareFork() {
  g_pool_lock.Lock();
  g_orphan_lock.Lock();
  g_memory_lock.Lock();
}

void RegistryParentAfterFork() {
  g_memory_lock.Unlock();
  g_orphan_lock.Unlock();
  g_pool_lock.Unlock();
}

LT_FORK_CHILD_CODE void RegistryChildAfterFork() {
  // The shards of the parent's other threads stay in the list (their totals
  // are the child's inherited heap) but are never written again: they are not
  // in the pool, and no thread of the child owns them.
  g_memory_lock.Reset();
  g_orphan_lock.Reset();
  g_pool_lock.Reset();
}

}  // namespace leaktrace::preload
