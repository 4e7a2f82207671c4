#include "preload/unwind_cache.h"

#include <pthread.h>

#include <new>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "preload/compiler.h"
#include "preload/fork_gate.h"
#include "preload/shard.h"
#include "preload/stack_table.h"
#include "preload/tracker.h"
#include "preload/unwinder.h"

namespace leaktrace::preload {

#if defined(__x86_64__)

namespace {

constexpr uint32_t kMaxCachedFrames = kMaxUserFrames + 16;  // user frames plus ours
constexpr uint32_t kSets = 128;
constexpr uint32_t kWays = 4;  // one stack position, several call chains (recursion, shared helpers)

struct CacheEntry {
  uintptr_t marker;  // 0: empty
  uint32_t stack_id;
  uint32_t slot_count;
  uintptr_t slots[kMaxCachedFrames];   // where each return address sits
  uintptr_t values[kMaxCachedFrames];  // the return address found there
};

struct ThreadStack {
  uintptr_t low = 0, high = 0;  // the pthread stack of the owner; high == 0: unknown
};

}  // namespace

struct UnwindCache {
  ThreadStack stack;
  bool stack_known = false;
  CacheEntry* entries[kSets][kWays];
  uint8_t next_victim[kSets];
};

namespace {

UnwindCache* CacheOf(Shard& shard) {
  if (shard.unwind_cache == nullptr) {
    void* memory = shard.arena().Allocate(sizeof(UnwindCache));
    if (memory == nullptr) return nullptr;
    shard.unwind_cache = new (memory) UnwindCache();
  }
  return shard.unwind_cache;
}

void LearnStackBounds(UnwindCache& cache) {
  cache.stack_known = true;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;  // may allocate: we are busy
  void* low = nullptr;
  size_t size = 0;
  if (pthread_attr_getstack(&attr, &low, &size) == 0) {
    cache.stack.low = reinterpret_cast<uintptr_t>(low);
    cache.stack.high = cache.stack.low + size;
  }
  pthread_attr_destroy(&attr);
}

LT_ALWAYS_INLINE bool Matches(const CacheEntry& e) {
  for (uint32_t i = 0; i < e.slot_count; ++i)
    if (*reinterpret_cast<const uintptr_t*>(e.slots[i]) != e.values[i]) return false;
  return true;
}

// The slow path: unwind with the cursor (it gives stack pointers), intern the
// user part, and fill `entry` when the stack can be cached.
LT_NOINLINE uint32_t UnwindAndRemember(Shard& shard, UnwindCache& cache, uintptr_t marker, CacheEntry*& slot) {
  uintptr_t ips[kMaxCachedFrames + 1], sps[kMaxCachedFrames + 1];
  uint32_t n = 0;
  bool cacheable = true, truncated = false;
  {
    ForkGateScope gate;  // libunwind's locks and the loader's must not be held across fork
    unw_context_t context;
    unw_cursor_t cursor;
    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return 0;
    do {
      if (n == kMaxCachedFrames + 1) {
        truncated = true;
        break;
      }
      unw_word_t ip = 0, sp = 0;
      unw_get_reg(&cursor, UNW_REG_IP, &ip);
      unw_get_reg(&cursor, UNW_REG_SP, &sp);
      if (unw_is_signal_frame(&cursor) > 0) cacheable = false;
      if (ip == 0) break;
      ips[n] = ip;
      sps[n] = sp;
      ++n;
    } while (unw_step(&cursor) > 0);
  }

  // Frame 0 is this function; the user's frames follow ours.
  uint32_t first = 1;
  while (first < n && IsLeaktraceFrame(ips[first])) ++first;
  CapturedStack stack;
  stack.depth = 0;
  stack.truncated = truncated;
  for (uint32_t i = first; i < n; ++i) {
    if (stack.depth == kMaxUserFrames) {
      stack.truncated = true;
      break;
    }
    stack.pcs[stack.depth++] = ips[i];
  }
  const uint16_t flags = stack.truncated ? 1 : 0;
  const uint64_t hash = XXH3_64bits(stack.pcs, stack.depth * sizeof(uint64_t)) ^ flags;
  uint32_t id = shard.CachedStackId(hash);
  if (id == 0) {
    id = InternStack(hash, stack.pcs, stack.depth, flags, shard.arena());
    if (id == 0) {
      g_health.dropped_stacks.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    shard.CacheStackId(hash, id);
  }

  // Cache only what every later check can read safely: slots inside the
  // thread's own stack, a complete chain, no signal frame. Frame 1 is
  // CaptureStackIdCached itself, its return address the call to this
  // function, which a later lookup does not make: checking starts at frame 2.
  constexpr uint32_t kFirstChecked = 2;
  if (!cacheable || truncated || cache.stack.high == 0 || n <= kFirstChecked) return id;
  for (uint32_t i = kFirstChecked; i < n; ++i) {
    const uintptr_t slot_address = sps[i] - sizeof(uintptr_t);
    if (slot_address < cache.stack.low || slot_address + sizeof(uintptr_t) > cache.stack.high) return id;
  }
  if (slot == nullptr) {
    slot = static_cast<CacheEntry*>(shard.arena().Allocate(sizeof(CacheEntry)));
    if (slot == nullptr) return id;
  }
  slot->marker = marker;
  slot->stack_id = id;
  slot->slot_count = n - kFirstChecked;
  for (uint32_t i = kFirstChecked; i < n; ++i) {
    slot->slots[i - kFirstChecked] = sps[i] - sizeof(uintptr_t);
    slot->values[i - kFirstChecked] = ips[i];
  }
  return id;
}

}  // namespace

LT_NOINLINE uint32_t CaptureStackIdCached(Shard& shard) {
  UnwindCache* cache = CacheOf(shard);
  if (cache == nullptr) return 0;
  if (!cache->stack_known) LearnStackBounds(*cache);
  // The stack pointer at a fixed point of this function: same path, same value.
  volatile char probe = 0;
  const uintptr_t marker = reinterpret_cast<uintptr_t>(&probe);
  if (marker < cache->stack.low || marker >= cache->stack.high) {
    CacheEntry* none = nullptr;
    return UnwindAndRemember(shard, *cache, 0, none);  // another stack: never cached
  }
  const uint32_t set = (marker >> 4) % kSets;
  CacheEntry** ways = cache->entries[set];
  for (uint32_t w = 0; w < kWays; ++w) {
    CacheEntry* e = ways[w];
    if (e != nullptr && e->marker == marker && Matches(*e)) return e->stack_id;
  }
  const uint32_t victim = cache->next_victim[set]++ % kWays;
  return UnwindAndRemember(shard, *cache, marker, ways[victim]);
}

void ResetUnwindCache(Shard& shard) {
  if (shard.unwind_cache == nullptr) return;
  UnwindCache& cache = *shard.unwind_cache;
  cache.stack_known = false;
  cache.stack = ThreadStack{};
  for (auto& ways : cache.entries)
    for (CacheEntry* e : ways)
      if (e != nullptr) e->marker = 0;
}

#else  // not x86-64: CaptureStackId never calls the cache

void ResetUnwindCache(Shard&) {}

#endif

}  // namespace leaktrace::preload
