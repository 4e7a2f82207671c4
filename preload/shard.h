// Per-thread totals by call site. One owner thread writes a shard; the dumper
// reads it at the same time without stopping the owner.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <atomic>
#include <cstdint>

#include "preload/arena.h"

namespace leaktrace::preload {

struct UnwindCache;

// One call site's running totals in one shard. Single writer (the owner, with
// relaxed load+store, no read-modify-write); any reader. Figures are weighted
// sums: in exact mode every weight is 1.
struct SiteCounters {
  std::atomic<uint32_t> stack_id;
  uint32_t reserved;
  std::atomic<double> alloc_count;
  std::atomic<double> alloc_bytes;
  std::atomic<double> free_count;
  std::atomic<double> free_bytes;
  std::atomic<double> var_count;  // sum of w(w-1) over live samples
  std::atomic<double> var_bytes;  // sum of w(w-1)size^2 over live samples
  std::atomic<int64_t> live_samples;
};
static_assert(sizeof(SiteCounters) == 64);

// Owner-thread helpers: single writer, so load+store is enough.
inline void Bump(std::atomic<double>& a, double v) {
  a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
inline void Bump(std::atomic<int64_t>& a, int64_t v) {
  a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}

class Shard {
 public:
  Shard();

  // Owner only. The counters of `stack_id` in this shard, created on first
  // use; nullptr when the shard is full or out of memory (the caller counts a
  // drop). Never moves once created.
  SiteCounters* CountersFor(uint32_t stack_id) {
    const CounterCacheEntry& e = counter_cache_[stack_id & (kCounterCacheSize - 1)];
    return e.stack_id == stack_id ? e.counters : CountersForSlow(stack_id);
  }

  // Owner only. A direct-mapped cache of stack hash -> id in front of the
  // global stack table.
  uint32_t CachedStackId(uint64_t hash) const {
    const StackCacheEntry& e = stack_cache_[hash & (kStackCacheSize - 1)];
    return e.hash == hash ? e.id : 0;
  }
  void CacheStackId(uint64_t hash, uint32_t id) { stack_cache_[hash & (kStackCacheSize - 1)] = {hash, id}; }

  Arena& arena() { return arena_; }

  // Any thread. Calls fn(const SiteCounters&) for every site created so far.
  template <typename Fn>
  void ForEachSite(Fn&& fn) const {
    const uint32_t n = published_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < n; ++i) fn(*Slot(i));
  }
  uint32_t site_count() const { return published_.load(std::memory_order_relaxed); }

  UnwindCache* unwind_cache = nullptr;  // owner only (unwind_cache.h)
  Shard* next_in_registry = nullptr;  // set once, before publication
  Shard* next_free = nullptr;         // registry's pool of shards of exited threads
  // A shard copied into a fork child from a thread that does not exist there:
  // its index may be mid-update, so it is read, never written, again.
  bool frozen = false;

 private:
  static constexpr uint32_t kFirstChunkSlots = 64;
  static constexpr int kChunks = 18;  // 64 * (2^18 - 1) slots at most
  static constexpr uint32_t kStackCacheSize = 256;
  static constexpr uint32_t kCounterCacheSize = 1024;

  struct StackCacheEntry {
    uint64_t hash;
    uint32_t id;
  };
  struct CounterCacheEntry {
    uint32_t stack_id;
    SiteCounters* counters;
  };
  struct IdHash {
    size_t operator()(uint32_t v) const { return v * 0x9E3779B97F4A7C15ULL >> 20; }
  };
  using Index = absl::flat_hash_map<uint32_t, uint32_t, IdHash, std::equal_to<uint32_t>,
                                    ArenaAllocator<std::pair<const uint32_t, uint32_t>>>;

  SiteCounters* Slot(uint32_t i) const;
  SiteCounters* CountersForSlow(uint32_t stack_id);
  SiteCounters* NewCounters(uint32_t stack_id);

  Arena arena_;
  Index index_;
  std::atomic<SiteCounters*> chunks_[kChunks] = {};
  std::atomic<uint32_t> published_{0};
  StackCacheEntry stack_cache_[kStackCacheSize] = {};
  // Direct-mapped cache in front of index_: most events hit a few hot sites.
  CounterCacheEntry counter_cache_[kCounterCacheSize] = {};
};

}  // namespace leaktrace::preload
