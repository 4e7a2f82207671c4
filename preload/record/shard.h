// Per-thread totals by call site. One owner thread writes a shard; the dumper
// reads it at the same time without stopping the owner.
#pragma once

#include <atomic>
#include <cstdint>

#include "preload/internal/arena.h"
#include "preload/internal/compiler.h"
#include "preload/internal/mode.h"

namespace leaktrace::preload {

struct UnwindCache;

// One figure of a site's totals: 8 bytes, read and written whole. In
// sampled mode a weighted sum (a double: every sample counts its
// Horvitz-Thompson weight); in exact mode, where every weight is 1, the
// whole number itself (an integer: one add to memory books it, where a
// double took a load, an add and a store, and a size's conversion two
// more). Which of the two follows the process's mode (ExactFigures), fixed
// before the first booking; the readers (snapshot.cc) ask the same.
struct Figure {
  std::atomic<uint64_t> bits{0};
};
static_assert(sizeof(Figure) == 8);

// One call site's running totals in one shard. Single writer (the owner, with
// relaxed load+store, no read-modify-write); any reader. Figures are weighted
// sums: in exact mode every weight is 1, and the figures are whole numbers
// (Figure); var_count, var_bytes and live_samples are then not kept (no
// variance, and the live samples are alloc_count - free_count:
// ReadSiteFigures).
struct SiteCounters {
  std::atomic<uint32_t> stack_id;
  uint32_t reserved;
  Figure alloc_count;
  Figure alloc_bytes;
  Figure free_count;
  Figure free_bytes;
  Figure var_count;  // sum of w(w-1) over live samples
  Figure var_bytes;  // sum of w(w-1)size^2 over live samples
  std::atomic<int64_t> live_samples;
};
static_assert(sizeof(SiteCounters) == 64);

// Whether the figures hold whole numbers (exact mode, LEAKTRACE_SAMPLE=1)
// rather than weighted sums. The mode is published before any booking and
// never leaves exact mode (attach refuses it), so writers and readers agree.
LT_ALWAYS_INLINE bool ExactFigures() { return CurrentMode() == Mode::kExact; }

// A site's figures as numbers, read once each (any thread; `exact` as
// ExactFigures() says).
struct SiteFigures {
  double alloc_count, alloc_bytes, free_count, free_bytes, var_count, var_bytes;
  int64_t live_samples;  // exact mode: alloc_count - free_count, from the same reads
};
inline SiteFigures ReadSiteFigures(const SiteCounters& c, bool exact) {
  auto load = [](const Figure& f) { return f.bits.load(std::memory_order_relaxed); };
  auto weighted = [&](const Figure& f) {
    const uint64_t bits = load(f);
    double d;
    __builtin_memcpy(&d, &bits, sizeof d);
    return d;
  };
  if (exact) {
    const uint64_t allocs = load(c.alloc_count), frees = load(c.free_count);
    return {static_cast<double>(allocs), static_cast<double>(load(c.alloc_bytes)),
            static_cast<double>(frees),  static_cast<double>(load(c.free_bytes)),
            0, 0, static_cast<int64_t>(allocs - frees)};
  }
  return {weighted(c.alloc_count), weighted(c.alloc_bytes), weighted(c.free_count), weighted(c.free_bytes),
          weighted(c.var_count),   weighted(c.var_bytes),   c.live_samples.load(std::memory_order_relaxed)};
}

// Owner-thread helpers: single writer, so a load and a store are enough
// (no read-modify-write). On x86-64 each is one instruction on the
// counter itself: GCC moves a relaxed atomic<double> through a general
// register (two moves more per bump), and an integer bump becomes one add
// to memory. An aligned 8-byte access is atomic there, so a reader's
// relaxed load sees the old value or the new one, never a mix; the inline
// asm keeps the compiler from splitting, merging or dropping them.
// Bump(Figure&, double) is sampled mode's, BumpWhole exact mode's.
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
inline void Bump(Figure& a, double v) {
  static_assert(alignof(Figure) == 8);
  double x;
  __asm__("movsd %1, %0" : "=x"(x) : "m"(a.bits));
  x += v;
  __asm__ volatile("movsd %1, %0" : "=m"(a.bits) : "x"(x));
}
inline void BumpWhole(Figure& a, uint64_t v) {
  __asm__ volatile("addq %1, %0" : "+m"(a.bits) : "er"(v));
}
inline void Bump(std::atomic<int64_t>& a, int64_t v) {
  static_assert(sizeof a == 8 && alignof(std::atomic<int64_t>) == 8);
  __asm__ volatile("addq %1, %0" : "+m"(a) : "er"(v));
}
// The same with release order (the counters' stores before it), as
// shard.events is published.
inline void BumpRelease(std::atomic<uint64_t>& a, uint64_t v) {
  static_assert(sizeof a == 8 && alignof(std::atomic<uint64_t>) == 8);
  __asm__ volatile("addq %1, %0" : "+m"(a) : "er"(v) : "memory");
}
#else
inline void Bump(Figure& a, double v) {
  const uint64_t bits = a.bits.load(std::memory_order_relaxed);
  double x;
  __builtin_memcpy(&x, &bits, sizeof x);
  x += v;
  uint64_t out;
  __builtin_memcpy(&out, &x, sizeof out);
  a.bits.store(out, std::memory_order_relaxed);
}
inline void BumpWhole(Figure& a, uint64_t v) {
  a.bits.store(a.bits.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
inline void Bump(std::atomic<int64_t>& a, int64_t v) {
  a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
inline void BumpRelease(std::atomic<uint64_t>& a, uint64_t v) {
  a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_release);
}
#endif

// Memory grows with use: a thread that touches one call site costs a few
// hundred bytes of shard and the first 4 KiB chunk of its arena (the index,
// the first counters and the stack-id cache all start small there), so a
// thousand idle threads do not cost a thousand full-size tables.
class Shard {
 public:
  Shard() = default;

  // Owner only. The counters of `stack_id` (never 0) in this shard, created
  // on first use; nullptr when the shard is full or out of memory (the
  // caller counts a drop). Never moves once created. The common case, a
  // site seen before, is one hashed probe of the index.
  SiteCounters* CountersFor(uint32_t stack_id) {
    if (SiteCounters* c = IndexedCounters(stack_id)) return c;
    return CountersForSlow(stack_id);
  }
  // Owner only. The counters of `stack_id` (never 0) when the first probe
  // of the index finds them, else nullptr (then ask CountersFor). Never
  // creates.
  SiteCounters* IndexedCounters(uint32_t stack_id) const {
    const IndexEntry& e = index_[IndexHash(stack_id) & index_mask_];  // no index yet: kNoIndex
    if (e.stack_id != stack_id) return nullptr;
    // An entry with a stack id always has its counters (InsertIndex), and
    // stack_id is not 0: saying so spares the caller's test of the result.
    if (e.counters == nullptr) __builtin_unreachable();
    return e.counters;
  }

  // Owner only. A direct-mapped cache of stack -> id in front of the global
  // stack table (0: not cached), keyed by the stack's hash and confirmed by
  // its frames. Made at its first use.
  uint32_t CachedStackId(uint64_t hash, const uint64_t* pcs, uint32_t depth, uint16_t flags) const {
    if (stack_cache_ == nullptr) return 0;
    const StackCacheEntry& e = stack_cache_[hash & (kStackCacheSize - 1)];
    if (e.hash != hash || e.depth != depth || e.flags != flags) return 0;
    return __builtin_memcmp(e.pcs, pcs, depth * sizeof(uint64_t)) == 0 ? e.id : 0;
  }
  // `stored_pcs`: the stack table's copy of the frames (InternStack).
  void CacheStackId(uint64_t hash, uint32_t id, const uint64_t* stored_pcs, uint32_t depth, uint16_t flags);

  Arena& arena() { return arena_; }

  // Any thread. Calls fn(const SiteCounters&) for every site created so far.
  template <typename Fn>
  void ForEachSite(Fn&& fn) const {
    const uint32_t n = published_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < n; ++i) fn(*Slot(i));
  }
  uint32_t site_count() const { return published_.load(std::memory_order_relaxed); }

  // Heap events (allocations and frees) recorded in this shard: the writer
  // bumps it after each one (single writer, relaxed). A snapshot sums it
  // over all shards before and after it reads them: the difference bounds
  // what its figures may be off by (snapshot.cc, events_during_read).
  std::atomic<uint64_t> events{0};
  UnwindCache* unwind_cache = nullptr;  // owner only (unwind_cache.h)
  bool batches_resizes = false;         // owner only, never cleared (heap_peak.h, CountBatchingShard)
  Shard* next_in_registry = nullptr;  // set once, before publication
  Shard* next_free = nullptr;         // registry's pool of shards of exited threads

 private:
  static constexpr uint32_t kFirstChunkSlots = 8;  // 512 bytes of counters
  static constexpr int kChunks = 21;               // 8 * (2^21 - 1) slots at most
  static constexpr uint32_t kStackCacheSize = 64;
  static constexpr uint32_t kFirstIndexSize = 16;  // power of two; kept at most half full

  struct StackCacheEntry {
    uint64_t hash;
    uint32_t id;
    uint16_t depth;
    uint16_t flags;
    const uint64_t* pcs;  // the stack table's copy
  };
  // Open addressing, linear probing; stack_id 0 marks an empty entry.
  // Entries are never removed (a site lives as long as the shard).
  struct IndexEntry {
    uint32_t stack_id;
    SiteCounters* counters;
  };
  static uint32_t IndexHash(uint32_t v) { return static_cast<uint32_t>((v * 0x9E3779B97F4A7C15ULL) >> 32); }

  SiteCounters* Slot(uint32_t i) const;
  SiteCounters* CountersForSlow(uint32_t stack_id);
  SiteCounters* NewCounters(uint32_t stack_id);
  // Doubles the index (or makes the first one). False when out of memory.
  bool GrowIndex();
  void InsertIndex(uint32_t stack_id, SiteCounters* counters);

  // The index before its first entry: one empty entry (index_mask_ 0), so
  // a lookup needs no test for a missing index. Never written.
  inline static IndexEntry kNoIndex[1] = {};

  Arena arena_;
  IndexEntry* index_ = kNoIndex;
  uint32_t index_mask_ = 0;   // capacity - 1
  uint32_t index_used_ = 0;
  StackCacheEntry* stack_cache_ = nullptr;
  std::atomic<SiteCounters*> chunks_[kChunks] = {};
  std::atomic<uint32_t> published_{0};
};

}  // namespace leaktrace::preload
