// All shards ever made, for the dumper; and the pool of shards whose threads
// have exited, for new threads to reuse (their totals stay in them).
#pragma once

#include <atomic>

#include "preload/internal/compiler.h"
#include "preload/internal/spin_lock.h"
#include "preload/record/shard.h"

namespace leaktrace::preload {

// A shard for the calling thread: a pooled one or a new one. nullptr when out
// of memory. Thread start only; takes the pool lock briefly.
Shard* AcquireShard();
// Gives a shard back to the pool when its thread exits.
void ReleaseShard(Shard* shard);

// The shard for threads past their own exit hooks (thread-local destructors
// that free memory late). Guarded by OrphanLock(): such frees are rare.
Shard& OrphanShard();
SpinLock& OrphanLock();

// Any thread, lock-free: every shard ever made (the list only grows).
template <typename Fn>
void ForEachShard(Fn&& fn);
uint64_t ShardCount();

// Fork handlers: hold the locks across fork so the child never inherits one
// taken by a thread it does not have.
void RegistryPrepareFork();
void RegistryParentAfterFork();
void RegistryChildAfterFork();

// ---- implementation details -------------------------------------------
extern LT_HIDDEN std::atomic<Shard*> g_all_shards;

template <typename Fn>
void ForEachShard(Fn&& fn) {
  for (Shard* s = g_all_shards.load(std::memory_order_acquire); s != nullptr; s = s->next_in_registry) fn(*s);
}

}  // namespace leaktrace::preload
