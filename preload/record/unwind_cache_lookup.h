// The unwind cache's layout and its hit path (unwind_cache.h says what the
// cache is and why a hit is exact), inline so that exact mode's allocation
// path (exact_record.h) looks up without a call: one frame fewer to compare
// per allocation, and no call, no saved registers around the lookup.
// Everything but a hit is out of line in unwind_cache.cc.
//
// A lookup's key is the stack pointer at a fixed point of the function the
// lookup is inlined into (the "marker", 8-aligned) with the low 3 bits
// naming that place (LookupSite): two places whose markers happen to be
// equal never share an entry, so an entry's first slot is always the same
// frame's return address. x86-64 only (kUnwindCacheAvailable).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "preload/internal/compiler.h"
#include "preload/record/unwind_cache.h"

namespace leaktrace::preload {

class Shard;
struct SiteCounters;

namespace unwind_cache_internal {

inline constexpr uint32_t kSets = 128;
inline constexpr uint32_t kWays = 8;  // one stack position, several call chains (recursion, shared helpers)
// Frames are compared four at a time; an entry's frames are padded to a
// multiple of four with frames that always match (PadFrames).
inline constexpr uint32_t kFrameGroup = 4;

// The places a lookup is made from (the key's low 3 bits).
enum LookupSite : uintptr_t {
  kSiteGeneric = 0,  // CaptureStackIdCached
  kSiteMallocExact = 1,
  kSiteReallocExact = 2,
  kSiteReallocSampled = 3,  // sampled_paths.cc: a buffer grown in steps
  kSiteCallocExact = 4,
};

// A chain's frames by groups of kFrameGroup: the group's slot addresses,
// then the return addresses found there, so that the hit path compares the
// return addresses two at a time (Matches: the words at two slots loaded
// into one SSE2 register, compared with the two expected side by side).
struct alignas(16) FrameGroup {
  uintptr_t slot[kFrameGroup];   // where each return address sits
  uintptr_t value[kFrameGroup];  // the return address found there
};
static_assert(sizeof(FrameGroup) == 64);

// One cached call chain. Sized to its chain: `capacity` frames (whole
// groups) follow the header (most stacks are 10-30 frames deep, the limit
// is 80).
struct alignas(16) CacheEntry {
  uintptr_t marker;  // the key (marker | site); 0: empty
  uint32_t stack_id;
  uint8_t slot_count;   // the chain's frames; then guard_count guards, then padding up to groups * kFrameGroup
  uint8_t guard_count;  // saved frame pointers compared too (unwind_cache.cc, "Rigid chains")
  uint16_t capacity;
  uint32_t taught_at;  // 0, or the fork count when a fork child taught it (unwind_cache.cc, "Lessons")
  // The bytes of groups() compared: slot_count + guard_count frames rounded
  // up to groups of kFrameGroup (in bytes, so the hit path adds it as it is).
  uint16_t compared_bytes;
  uint8_t probe_index;  // which frame `probe` copies (SetProbes)
  // Every slot's place followed from the one below by the stack pointer and
  // its frame's unwind rule (unwind_cache.cc, "Rigid chains"): checked
  // against a full unwind only now and then.
  uint8_t rigid;
  // The counters of stack_id in the cache's shard, once a booking looked
  // them up (exact_record.h); null until then. Counters never move
  // (shard.h), and a chain learned anew starts from null.
  SiteCounters* counters;
  struct Frame {
    uintptr_t slot;   // where the return address sits
    uintptr_t value;  // the return address found there
  };
  // A copy of the frame compared first: where this chain parts from the
  // other chains cached at its marker (SetProbes), so that a lookup leaves
  // a way that holds another chain after one compare instead of after the
  // frames the two chains share.
  Frame probe;
  FrameGroup* groups() { return reinterpret_cast<FrameGroup*>(this + 1); }
  const FrameGroup* groups() const { return reinterpret_cast<const FrameGroup*>(this + 1); }
  Frame frame(uint32_t i) const {
    const FrameGroup& g = groups()[i / kFrameGroup];
    return {g.slot[i % kFrameGroup], g.value[i % kFrameGroup]};
  }
  void set_frame(uint32_t i, Frame f) {
    FrameGroup& g = groups()[i / kFrameGroup];
    g.slot[i % kFrameGroup] = f.slot;
    g.value[i % kFrameGroup] = f.value;
  }
};
static_assert(sizeof(CacheEntry) % alignof(FrameGroup) == 0, "the groups aligned as the entry");

// One way of a set: the chain cached there, the hits of it until its next
// check (VerifyHit), counted down by the hit path, and the number of that
// hit since the chain was learned (1: never hit). Side by side, so the hit
// path finds the count at the way it matched. The counts live here, not in
// the entries: counting a hit writes the set only, so after a fork the
// process hitting pays one copy-on-write fault per set it hits in, not one
// per entry's page.
struct Way {
  CacheEntry* entry;
  uint32_t hits_to_check;
  uint32_t checked_hit;
};
static_assert(sizeof(Way) == 16);

// More ways for a set that more chains reach in turn than its kWays hold
// (unwind_cache.cc, "Crowded sets"): made for such a set only, and looked
// through on a miss, out of line, so the hit path stays as it is.
inline constexpr uint32_t kOverflowWays = 120;
struct OverflowWays {
  // Filled in order, never emptied (as the set's own ways); one more that
  // stays empty ends the walk.
  Way ways[kOverflowWays + 1];
  uint32_t next_victim;
  // Ways below it hold an entry (a bound, moved up by CrowdedWay): the
  // search for the first empty one starts here rather than read every way
  // of a full overflow at every learn.
  uint32_t filled;
  // A copy of each way's entry's probe frame, side by side (unwind_cache.cc,
  // OverflowMatch): the walk through up to kOverflowWays chains reads these
  // and the stack, not every entry, scattered in the arena (cc1: the
  // miss path's cache misses were a twelfth of its time). A way with no
  // copy yet holds one that always matches. Every slot is in the owner's
  // stack (copied from entries learned there since the cache was last
  // reset, which resets the copies too), so reading it is safe. One more,
  // never written, as `ways`.
  CacheEntry::Frame probes[kOverflowWays + 1];
};

struct ThreadStack {
  uintptr_t low = 0, high = 0;  // the pthread stack of the owner; high == 0: unknown
};

// One set: everything the cache keeps for it side by side, 256 bytes, so a
// thread that uses a few sets (most threads of a thread-per-connection
// server) makes a page or two of its cache resident, not every table's.
struct alignas(256) CacheSet {
  // Filled in order, never emptied; ways[kWays] stays empty (the cache is
  // a zero mapping and nothing writes it), which ends MatchingWay's walk
  // with no count of the ways.
  Way ways[kWays + 1];
  uint64_t last_miss;   // (stack hash ^ marker) | 1 of the last chain not learned
  uintptr_t distrusted; // a marker whose cached chain proved wrong: never cached again
  OverflowWays* overflow;  // null until the set is crowded
  uint8_t next_victim;  // the own way to give up next (a set without overflow learning; Promote)
  uint8_t full_misses;  // misses of the full set not learned, up to kCrowdedAfter
};
static_assert(sizeof(CacheSet) == 256);

LT_ALWAYS_INLINE uint32_t SetOf(uintptr_t marker) { return (marker >> 4) % kSets; }

}  // namespace unwind_cache_internal

struct UnwindCache {
  // Made zero (a mapping of its own: unwind_cache.cc, CacheOf) and never
  // cleared by hand, so only the sets a thread uses become resident. First,
  // so that a set's place is the cache's address plus its index * 256.
  unwind_cache_internal::CacheSet sets[unwind_cache_internal::kSets];
  unwind_cache_internal::ThreadStack stack;
  bool stack_known = false;
  // The stack is the process's main stack, known only as deep as it had
  // grown when learned (unwind_cache.cc, LearnStackBounds), and how many
  // times it was learned again since, deeper (GrownMainStack).
  bool main_stack = false;
  uint8_t stack_regrowths = 0;
  // Chains learned on this thread so far, up to kCursorLearns
  // (unwind_cache.cc, UnwindAndRemember).
  uint8_t learned = 0;
  // The cache's pages written so far, a bit each (unwind_cache.cc, TouchSet).
  uint16_t touched_pages = 0;
};
static_assert(offsetof(UnwindCache, sets) == 0);

namespace unwind_cache_internal {

// A lookup's answer: the stack id (0 when the stack could not be recorded)
// and, on a hit, the entry's counters slot (CacheEntry::counters), else null.
struct CachedCapture {
  uint32_t stack_id;
  SiteCounters** counters;
};

// Owner thread, busy. A lookup that found no entry: learns or unwinds
// (unwind_cache.cc). `key` as in LookupStackId.
uint32_t CaptureMissed(Shard& shard, uintptr_t key);
// Owner thread, busy. A hit at `way` of `cache` whose countdown ran out:
// checks it when the schedule says so (unwind_cache.cc) and returns the
// stack id. Needs no frame of the lookup's (a full unwind skips the
// library's frames), so a caller may make it from a tail call.
uint32_t CheckedHit(Shard& shard, UnwindCache& cache, Way& way);

// Whether every slot of `e` still holds its return address, a group of
// kFrameGroup frames at a time, the walk ended at the first group that
// differs; padding frames always match. For the overflow ways of a crowded
// set (the miss path, unwind_cache.cc: OverflowMatch), where most chains
// looked at differ somewhere.
LT_ALWAYS_INLINE bool MatchesByGroup(const CacheEntry& e) {
  const FrameGroup* g = e.groups();
  const auto* const end = reinterpret_cast<const FrameGroup*>(reinterpret_cast<const char*>(g) + e.compared_bytes);
  auto differs = [](const FrameGroup& group, uint32_t i) {
    return *reinterpret_cast<const uintptr_t*>(group.slot[i]) ^ group.value[i];
  };
  do {  // a group at least: a cached chain has a frame
    if ((differs(*g, 0) | differs(*g, 1) | differs(*g, 2) | differs(*g, 3)) != 0) return false;
    ++g;
  } while (g != end);
  return true;
}

// The same for the hit path, whose common outcome is a match: the whole
// chain is compared with no branch but the loop's (SSE2: two slots' words
// a register, an exclusive or with the two expected, all or-ed together,
// tested once).
LT_ALWAYS_INLINE bool Matches(const CacheEntry& e) {
#if defined(__x86_64__)
  const FrameGroup* g = e.groups();
  const auto* const end = reinterpret_cast<const FrameGroup*>(reinterpret_cast<const char*>(g) + e.compared_bytes);
  // The words at slots `a` and `b`, low and high half.
  auto words_at = [](uintptr_t a, uintptr_t b) {
    const __m128i low = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(a));
    return _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(low), reinterpret_cast<const double*>(b)));
  };
  __m128i differs = _mm_setzero_si128();
  do {  // a group at least: a cached chain has a frame
    const auto* expected = reinterpret_cast<const __m128i*>(g->value);
    differs = _mm_or_si128(differs, _mm_xor_si128(words_at(g->slot[0], g->slot[1]), _mm_load_si128(expected)));
    differs = _mm_or_si128(differs, _mm_xor_si128(words_at(g->slot[2], g->slot[3]), _mm_load_si128(expected + 1)));
    ++g;
  } while (g != end);
  return _mm_movemask_epi8(_mm_cmpeq_epi8(differs, _mm_setzero_si128())) == 0xffff;
#else
  return MatchesByGroup(e);  // never called there (kUnwindCacheAvailable)
#endif
}

// The probe frame of `e` still holds its return address.
LT_ALWAYS_INLINE bool ProbeMatches(const CacheEntry& e) {
  return *reinterpret_cast<const uintptr_t*>(e.probe.slot) == e.probe.value;
}

// The way of a set's own `ways` (filled in order, never emptied, and ended
// by an empty way) whose chain is the one on this stack at `key`, or null.
// (Its overflow ways are looked through by OverflowMatch, unwind_cache.cc.)
LT_ALWAYS_INLINE Way* MatchingWay(Way* ways, uintptr_t key) {
  for (Way* w = ways;; ++w) {
    const CacheEntry* e = w->entry;
    if (e == nullptr) return nullptr;
    if (e->marker == key && ProbeMatches(*e) && Matches(*e)) return w;
  }
}

// A lookup's key: the stack pointer at a fixed point of the function this
// is inlined into (same path, same value), `Site` naming that place: each
// place a constant, used from one function only (the marker is that
// function's).
template <uintptr_t Site>
LT_ALWAYS_INLINE uintptr_t LookupKey() {
  static_assert(Site < 8);
  alignas(8) volatile char probe = 0;
  return reinterpret_cast<uintptr_t>(&probe) | Site;
}

// The hit path: the way of `cache` whose chain is the one on this stack at
// `key`, or null (then CaptureMissed). No bounds check here: an entry's
// marker lies in the thread's stack (learned so, and all of them forgotten
// when the shard changes thread), so equal markers mean this stack, whose
// slots are all readable. A distrusted marker never has an entry
// (VerifyHit cleared it, and CaptureMissed never learns it again), so a hit
// needs no check of it. The caller counts the hit down (Way::hits_to_check)
// and calls CheckedHit when it reaches 0.
LT_ALWAYS_INLINE Way* HitWay(UnwindCache& cache, uintptr_t key) {
  return MatchingWay(cache.sets[SetOf(key)].ways, key);
}

// Owner thread, busy. The stack id of the calling stack (CachedCapture),
// `Site` as in LookupKey.
// Not in a function that calls it as its last act: the miss path's frames
// must lie below the marker's (UnwindAndRemember), so the call to it is no
// tail call.
// The same with the place's key made by the caller (LookupKey, in the
// function the lookup is inlined into), which may look at the way again:
// `hit` is the way of a plain hit (its countdown not run out), else null.
LT_ALWAYS_INLINE CachedCapture LookupStackIdAt(Shard& shard, UnwindCache* cache, uintptr_t key, Way** hit) {
  // (CaptureMissed makes the cache at the thread's first capture.)
  if (LT_LIKELY(cache != nullptr)) {
    if (Way* w = HitWay(*cache, key); w != nullptr) {
      CacheEntry* e = w->entry;
      if (LT_UNLIKELY(--w->hits_to_check == 0)) {
        *hit = nullptr;
        return {CheckedHit(shard, *cache, *w), nullptr};
      }
      *hit = w;
      return {e->stack_id, &e->counters};
    }
  }
  *hit = nullptr;
  uint32_t id = CaptureMissed(shard, key);
  // Not a tail call: the caller's frame must stay below the miss path's.
  __asm__ volatile("" : "+r"(id));
  return {id, nullptr};
}

template <uintptr_t Site>
LT_ALWAYS_INLINE CachedCapture LookupStackId(Shard& shard, UnwindCache* cache) {
  Way* hit;
  return LookupStackIdAt(shard, cache, LookupKey<Site>(), &hit);
}

// Whether the chain a plain hit found at `way` (LookupStackIdAt) is still
// the one on this stack at `key`: the way holds the same entry, and the
// entry matches as a hit does (MatchingWay), its countdown left alone. For
// a place that looks again and again from one stack (a buffer's steps,
// growing_block.h), without the set's walk.
LT_ALWAYS_INLINE bool StillHits(const Way& way, const CacheEntry* entry, uintptr_t key) {
  return way.entry == entry && entry->marker == key && ProbeMatches(*entry) && Matches(*entry);
}

}  // namespace unwind_cache_internal
}  // namespace leaktrace::preload
