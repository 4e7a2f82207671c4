#include "preload/record/unwind_cache.h"
#include "preload/record/unwind_cache_lookup.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include <atomic>
#include <cstddef>
#include <new>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "format/raw_mmap.h"
#include "preload/internal/arena.h"
#include "preload/internal/compiler.h"
#include "preload/internal/errno_kept.h"
#include "preload/internal/fork_gate.h"
#include "preload/internal/signals_blocked.h"
#include "preload/record/shard.h"
#include "preload/record/stack_table.h"
#include "preload/internal/health.h"
#include "preload/internal/mode.h"
#include "preload/record/stack_ids.h"
#include "preload/record/thread_state.h"
#include "preload/record/main_stack.h"
#include "preload/record/unwinder.h"
#include "preload/snapshot/stack_mappings.h"
#include "preload/internal/kernel_clock.h"
#include "preload/internal/raw_syscall.h"

extern "C" void* __libc_stack_end;  // glibc's: the main thread's stack, near its top

namespace leaktrace::preload {

#if defined(__x86_64__)

using namespace unwind_cache_internal;

namespace {

constexpr uint32_t kMaxCachedFrames = kMaxUserFrames + 16;  // user frames plus ours
static_assert(kMaxCachedFrames + kFrameGroup < 256, "probe_index and slot_count are 8 bits");

// `frames` a multiple of kFrameGroup.
size_t EntryBytes(uint32_t frames) { return sizeof(CacheEntry) + frames / kFrameGroup * sizeof(FrameGroup); }

// What all threads' caches may hold together. The cache only saves time, so
// past the budget chains are unwound every time rather than remembered.
// Sampled mode (the default, meant to stay on) keeps it small: only sampled
// allocations unwind there. Exact mode unwinds every allocation and buys
// speed with memory.
constexpr uint64_t kSampledBudgetBytes = 4 << 20;
constexpr uint64_t kExactBudgetBytes = 64 << 20;
std::atomic<uint64_t> g_cache_bytes{0};

// Reserves `bytes` of the budget; false when it is spent.
bool Reserve(uint64_t bytes) {
  const uint64_t budget = g_mode == Mode::kExact ? kExactBudgetBytes : kSampledBudgetBytes;
  uint64_t used = g_cache_bytes.load(std::memory_order_relaxed);
  do {
    if (used + bytes > budget) return false;
  } while (!g_cache_bytes.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

// A thread's cache is a mapping of its own (more than the arena's largest
// class), so it starts zero and is not cleared here: a thread that captures
// a stack or two makes only the pages of its header and the sets it uses
// resident (1,000 threads allocating twice each in exact mode: 20 KiB less
// each than when the whole cache was cleared at its first use).
static_assert(Arena::MappedAlone(sizeof(UnwindCache)), "the cache relies on a zero mapping");
constexpr size_t kPageBytes = 4096;
constexpr uint32_t kCachePages = (sizeof(UnwindCache) + kPageBytes - 1) / kPageBytes;
static_assert(kCachePages <= 16, "UnwindCache::touched_pages has a bit a page");

// The cache's page that holds `set`.
uint32_t PageOfSet(uint32_t set) {
  return static_cast<uint32_t>((offsetof(UnwindCache, sets) + set * sizeof(CacheSet)) / kPageBytes);
}

// Whether `set`'s page has been written (TouchSet).
bool SetTouched(const UnwindCache& cache, uint32_t set) {
  return (cache.touched_pages & (1u << PageOfSet(set))) != 0;
}

// Before the first write to `set`: its page is written now, and leaves the
// bytes TrackerResidentBytes leaves out (arena.h). Owner thread.
void TouchSet(UnwindCache& cache, uint32_t set) {
  const uint32_t bit = 1u << PageOfSet(set);
  if (LT_LIKELY((cache.touched_pages & bit) != 0)) return;
  cache.touched_pages = static_cast<uint16_t>(cache.touched_pages | bit);
  NoteUntouchedBytes(-static_cast<int64_t>(kPageBytes));
}

// Before the miss path first reads a set on a page never written: a miss
// there learns, which writes the set, and a page of fresh anonymous memory
// that is read first costs two faults (the kernel maps its shared zero page,
// then copies it at the write), one when written first. A locked or of 0
// is a write that changes no byte. Owner thread.
LT_NOINLINE void WriteFirst(UnwindCache& cache, uint32_t set) {
  TouchSet(cache, set);
  __atomic_fetch_or(&cache.sets[set].full_misses, static_cast<uint8_t>(0), __ATOMIC_RELAXED);
}

UnwindCache* CacheOf(Shard& shard) {
  if (shard.unwind_cache == nullptr) {
    const size_t bytes = Arena::BlockBytes(sizeof(UnwindCache));
    if (!Reserve(bytes)) return nullptr;
    void* memory = shard.arena().Allocate(sizeof(UnwindCache));
    if (memory == nullptr) {
      g_cache_bytes.fetch_sub(bytes, std::memory_order_relaxed);
      return nullptr;
    }
    shard.unwind_cache = new (memory) UnwindCache;  // default-initialised: the sets stay the mapping's zeros
    // The header's page is written (after the sets); the others wait for a
    // set's first entry.
    shard.unwind_cache->touched_pages = static_cast<uint16_t>(1u << (offsetof(UnwindCache, stack) / kPageBytes));
    NoteUntouchedBytes(static_cast<int64_t>((kCachePages - 1) * kPageBytes));
  }
  return shard.unwind_cache;
}

// The mapping ForEachMappingHolding found.
void KeepMapping(uintptr_t start, uintptr_t end, void* ctx) {
  auto* bounds = static_cast<uintptr_t*>(ctx);
  bounds[0] = start;
  bounds[1] = end;
}

void LearnStackBounds(UnwindCache& cache) {
  cache.stack_known = true;
  cache.main_stack = false;
  // The process's main thread: glibc's pthread_getattr_np reads the whole
  // of /proc/self/maps for it (and asks for its CPU affinity), which made
  // the first stack a process captures cost some 100 us more. What exec
  // laid out, checked with one mincore, says where it is in most processes
  // (main_stack.h: from the top down to 64 KiB below this frame); else the
  // kernel says which mapping holds the stack in one PROCMAP_QUERY (opening
  // /proc/self/maps, some 30 us of a process's first capture). Either is
  // the stack as deep as known so far (a chain reaching deeper later is
  // learned again, GrownMainStack, or not cached: unwound each time, as
  // before it was learned); on a kernel without the query,
  // pthread_getattr_np as for other threads. The mapping asked about is
  // the one glibc's answer starts from, the one holding __libc_stack_end,
  // not this frame's: a program may be running on a stack of its own
  // making (a coroutine's), never to be cached.
  // A thread leaktrace's trampoline started is not the main thread (nor,
  // in a fork child, on the main stack): two system calls fewer at each
  // new thread's first capture.
  const bool main_thread = !t_state.created_thread && RawSyscall(SYS_gettid) == getpid();
  if (main_thread) {
    uintptr_t bounds[2] = {0, 0};
    const uintptr_t here = reinterpret_cast<uintptr_t>(__libc_stack_end);
    const uintptr_t sp = reinterpret_cast<uintptr_t>(&bounds);
    if (MainStackAroundExecFn(sp, &bounds[0], &bounds[1]) ||
        (ForEachMappingHolding(&here, 1, 0, MappingLookup::kQuery, KeepMapping, bounds) && bounds[1] != 0)) {
      cache.stack.low = bounds[0];
      cache.stack.high = bounds[1];
      cache.main_stack = true;
      MarkStackReadable(cache.stack.low, cache.stack.high);
      return;
    }
  }
  // Inside the program's own pthread_getattr_np, whose lock asking again
  // would wait for forever (hooks_thread.cc), or inside a mapping call an
  // allocator may make holding its lock (thread_state.h): unknown for now,
  // learned at the thread's next capture (this one is unwound without the
  // cache).
  if (t_state.stack_query_barred != 0) {
    cache.stack_known = false;
    return;
  }
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;  // may allocate: we are busy
  void* low = nullptr;
  size_t size = 0;
  if (pthread_attr_getstack(&attr, &low, &size) == 0) {
    cache.stack.low = reinterpret_cast<uintptr_t>(low);
    cache.stack.high = cache.stack.low + size;
    // Another thread's stack is mapped whole when the thread is made. Not
    // the main thread's: glibc reports it as deep as its limit allows,
    // pages not mapped yet and maybe never mappable (the guard gap above
    // the mapping below it), which libunwind must go on checking.
    if (!main_thread) MarkStackReadable(cache.stack.low, cache.stack.high);
  }
  pthread_attr_destroy(&attr);
}

// The first frame at which `a` and `b` part (slot or return address), at
// most a's last.
uint32_t FirstDifference(const CacheEntry& a, const CacheEntry& b) {
  const uint32_t n = std::min(a.slot_count, b.slot_count);
  uint32_t i = 0;
  while (i < n && a.frame(i).slot == b.frame(i).slot && a.frame(i).value == b.frame(i).value) ++i;
  return std::min<uint32_t>(i, a.slot_count - 1u);
}

// ---- Crowded sets --------------------------------------------------------------
//
// A stack position that many call chains reach in turn (a compiler's
// allocation wrapper, called from hundreds of places at one depth) keeps
// missing with only its set's kWays: cc1 compiling a small file missed on
// nearly three lookups in four. A set whose ways are full and that goes on
// learning, or misses kCrowdedAfter times with no chain learned, gets
// kOverflowWays more (OverflowWays, made then), looked through on a miss
// before anything is unwound: ways 0..kWays-1 of a set are its own, the hit
// path's, and kWays.. are its overflow's.

// What padding frames point at: a word that always holds their value.
constexpr uintptr_t kPaddingWord = 0;
// A probe copy that always matches (OverflowWays::probes).
constexpr CacheEntry::Frame kNoProbe = {reinterpret_cast<uintptr_t>(&kPaddingWord), kPaddingWord};

Way& WayOf(UnwindCache& cache, uint32_t set, uint32_t way) {
  CacheSet& s = cache.sets[set];
  if (way < kWays) return s.ways[way];
  return s.overflow->ways[way - kWays];
}

// The ways of `set`: its own, and its overflow's once made.
uint32_t WayCount(const UnwindCache& cache, uint32_t set) {
  return kWays + (cache.sets[set].overflow != nullptr ? kOverflowWays : 0);
}

// The way a chain learned in the full `set` goes to: a free way of its
// overflow (made now if need be, within the budget), else the overflow's
// next in turn; one of the set's own in turn when no overflow can be made.
uint32_t CrowdedWay(Shard& shard, UnwindCache& cache, uint32_t set) {
  TouchSet(cache, set);
  CacheSet& s = cache.sets[set];
  OverflowWays* o = s.overflow;
  if (o == nullptr) {
    const size_t bytes = Arena::BlockBytes(sizeof(OverflowWays));
    if (!Reserve(bytes)) return s.next_victim++ % kWays;
    void* memory = shard.arena().Allocate(sizeof(OverflowWays));
    if (memory == nullptr) {
      g_cache_bytes.fetch_sub(bytes, std::memory_order_relaxed);
      return s.next_victim++ % kWays;
    }
    o = s.overflow = new (memory) OverflowWays();
    for (CacheEntry::Frame& p : o->probes) p = kNoProbe;
  }
  // The first way with no entry (ways are never emptied, so it only moves
  // up), else the next in turn. An entry forgotten in place (marker 0) is not
  // looked for: finding one read every entry, scattered in the arena, at
  // every learn of a full overflow (node, exact mode: a tenth of leaktrace's
  // time); it is given up in its turn.
  uint32_t i = o->filled;
  while (i < kOverflowWays && o->ways[i].entry != nullptr) ++i;
  o->filled = i;
  if (i < kOverflowWays) return kWays + i;
  return kWays + o->next_victim++ % kOverflowWays;
}

// What an overflow way holding `e` keeps as its probe's copy: the probe of
// a chain cached now (marker not 0), whose slot is in this thread's stack;
// kNoProbe for none, or for an entry forgotten (its slot may be in the
// stack of the thread that owned the shard before).
CacheEntry::Frame ProbeCopy(const CacheEntry* e) {
  return e != nullptr && e->marker != 0 ? e->probe : kNoProbe;
}

// A chain found in the overflow of its crowded set moves into one of the
// set's own ways, whose chain takes its place there (the own ways in turn):
// the next lookup of it is a hit on the hit path instead of another walk
// through up to kOverflowWays chains. A crowded position is most often
// reached by the same few chains for a while (cc1 allocating through
// xmalloc: a pass calls it from a few places many times, then the next
// pass from others), so the chains in use gather in the own ways. The Way
// moves whole (entry and hit counts, as unwind_cache_lookup.h keeps them
// side by side); no way is emptied, so both lists stay filled in order.
// An entry's probe is one of its own frames wherever it sits, so a probe
// set against other siblings only makes a lookup compare more frames of
// it, never answers wrongly. Owner thread. Returns the own way.
Way& Promote(CacheSet& s, Way& found) {
  Way& own = s.ways[s.next_victim++ % kWays];
  const Way demoted = own;
  own = found;
  found = demoted;
  s.overflow->probes[&found - s.overflow->ways] = ProbeCopy(demoted.entry);
  return own;
}

// After `way` of `set` got its chain or its probe: an overflow way's copy
// of the probe (OverflowWays::probes).
void CopyProbe(UnwindCache& cache, uint32_t set, uint32_t way) {
  if (way < kWays) return;
  cache.sets[set].overflow->probes[way - kWays] = ProbeCopy(WayOf(cache, set, way).entry);
}

// The way of a crowded set's overflow `o` whose chain is the one on this
// stack at `key`, or null: MatchingWay's walk, from the probes' copies
// alone until one matches. An empty way's copy (and the one past the last
// way, never written) always matches, so the walk needs no test of its own
// to end: the first empty way ends it.
Way* OverflowMatch(OverflowWays& o, uintptr_t key) {
  for (const CacheEntry::Frame* p = o.probes;; ++p) {
    if (*reinterpret_cast<const uintptr_t*>(p->slot) != p->value) continue;
    Way& w = o.ways[p - o.probes];
    const CacheEntry* e = w.entry;
    if (e == nullptr) return nullptr;
    if (e->marker == key && ProbeMatches(*e) && MatchesByGroup(*e)) return &w;
  }
}

// After a chain was cached in `ways[fresh]`: it gets the frame where it
// parts from the sibling (a chain cached at the same marker) it shares the
// most frames with, and each sibling moves its own probe no earlier than
// where it parts from the fresh chain. Up to there two chains hold the same
// slots, so the other chain's return address differs at that very slot: a
// lookup for it leaves this way after one compare. Only the order of the
// compares changes (a hit is still every frame equal), so a probe left
// deeper than needed by a chain since replaced costs time, never a wrong
// answer. One pass over the ways, not all pairs: a crowded position learns
// often.
void SetProbes(UnwindCache& cache, uint32_t set, uint32_t fresh) {
  CacheEntry* e = WayOf(cache, set, fresh).entry;
  uint32_t probe = 0;
  // The set's own ways only: with its overflow's too, a crowded set's every
  // learn would compare each of 128 chains with the new one frame by frame
  // (cc1: ~10,000 instructions a learn). An overflow way's probe parts it
  // from the own ways' chains; a lookup through the overflow (a miss path)
  // may compare a few more frames.
  for (uint32_t v = 0; v < kWays; ++v) {
    CacheEntry* sibling = WayOf(cache, set, v).entry;
    if (v == fresh || sibling == nullptr || sibling->marker != e->marker) continue;
    probe = std::max(probe, FirstDifference(*e, *sibling));
    const uint32_t theirs = FirstDifference(*sibling, *e);
    if (fresh < kWays && theirs > sibling->probe_index) {
      sibling->probe_index = static_cast<uint8_t>(theirs);
      sibling->probe = sibling->frame(theirs);
    }
  }
  e->probe_index = static_cast<uint8_t>(probe);
  e->probe = e->frame(probe);
}

uint32_t GroupsOf(uint32_t frames) { return (frames + kFrameGroup - 1) / kFrameGroup; }

// `e`'s frames, set, padded to whole groups (Matches).
void PadFrames(CacheEntry& e) {
  const uint32_t compared = e.slot_count + e.guard_count;
  const uint32_t padded = GroupsOf(compared) * kFrameGroup;
  static_assert((2 * kMaxCachedFrames / kFrameGroup + 1) * sizeof(FrameGroup) <= UINT16_MAX, "slots and guards");
  e.compared_bytes = static_cast<uint16_t>(padded / kFrameGroup * sizeof(FrameGroup));
  for (uint32_t i = compared; i < padded; ++i) e.set_frame(i, {reinterpret_cast<uintptr_t>(&kPaddingWord), kPaddingWord});
}

// An entry that holds `frames` frames (padded: PadFrames): `slot`'s own
// when big enough, else a new one within the budget (the old one goes back
// to the arena). Null: leave this chain uncached.
CacheEntry* EntryFor(Shard& shard, CacheEntry*& slot, uint32_t frames) {
  frames = GroupsOf(frames) * kFrameGroup;
  if (slot != nullptr && slot->capacity >= frames) return slot;
  // As many frames as the arena block holds anyway, so that a deeper chain
  // at the same place later reuses the entry.
  const size_t bytes = Arena::BlockBytes(EntryBytes(frames));
  if (!Reserve(bytes)) return nullptr;
  auto* fresh = static_cast<CacheEntry*>(shard.arena().Allocate(bytes));
  if (fresh == nullptr) {
    g_cache_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    return nullptr;
  }
  fresh->capacity = static_cast<uint16_t>(
      std::min<size_t>((bytes - sizeof(CacheEntry)) / sizeof(FrameGroup) * kFrameGroup, UINT16_MAX));
  if (slot != nullptr) {
    const size_t old_bytes = Arena::BlockBytes(EntryBytes(slot->capacity));
    g_cache_bytes.fetch_sub(old_bytes, std::memory_order_relaxed);
    shard.arena().Deallocate(slot, old_bytes);
  }
  slot = fresh;
  return slot;
}

// ---- Lessons from fork children --------------------------------------------
//
// A chain that only fork children reach (a shell's child redirecting its
// output before it runs a builtin: a dup2 in every `$(...)`) is learned by
// each child afresh, with a full unwind, and forgotten at its exit: the
// parent never runs it, so the cache it passes on never holds it. So a
// child posts the first chains it learns on the thread that forked to a
// board shared with its parent (MAP_SHARED, made at the parent's first
// fork), and the parent, at its next fork on that thread, interns each one
// and caches it for that thread: the children forked after it hit. Sound
// for the reason the cache is (unwind_cache.h): a fork child's stack is its
// parent's, at the same addresses, running the same code. The parent takes
// only chains whose slots lie in the forking thread's stack, and only into
// a free way or over an entry of its own never hit since it was learned
// (UnusedWay: never a chain it uses). A child whose check proves a chain
// wrong tells the parent too (WarnParent). A lesson is addressed to one
// process by a key, not by pid (pids are reused).

constexpr uint32_t kLessonSlots = 8;
constexpr uint32_t kLessonsPerChild = 4;

enum : uint32_t { kLessonFree = 0, kLessonWriting, kLessonReady, kLessonReading };
// What a lesson says: a chain to cache, or a position whose cached chain a
// child's check proved wrong (VerifyHit), never to be cached again.
enum : uint16_t { kLessonChain = 0, kLessonDistrust = 1 };

struct Lesson {
  std::atomic<uint32_t> state;  // kLesson*: a child claims Free, fills it, marks it Ready
  uint16_t slot_count;
  uint16_t user_first;  // the frame (index into frames) the stack's first pc is
  uint16_t user_depth;
  uint8_t truncated;
  uint8_t rigid;        // CacheEntry::rigid of the child's entry
  uint16_t kind;        // kLessonChain or kLessonDistrust (marker only)
  uint64_t parent_key;  // g_lesson_key of the process that may learn it
  uintptr_t shard;      // the forking thread's shard: the same address in both processes
  uintptr_t marker;
  CacheEntry::Frame frames[kMaxCachedFrames];
};

struct LessonBoard {
  Lesson lessons[kLessonSlots];
};

std::atomic<LessonBoard*> g_lesson_board{nullptr};
// Forks prepared by this process (its copy goes on counting from its parent's).
LT_FORK_STATE std::atomic<uint32_t> g_fork_count{0};
// This process's key for lessons (0 until its first fork), its parent's key in
// a fork child (0 otherwise), the shard of the thread that forked it, and how
// many lessons it posted.
LT_FORK_STATE uint64_t g_lesson_key = 0;
LT_FORK_STATE uint64_t g_lesson_parent_key = 0;
LT_FORK_STATE uintptr_t g_forking_shard = 0;
LT_FORK_STATE uint32_t g_lessons_posted = 0;

LessonBoard* LessonBoardMade() {
  LessonBoard* board = g_lesson_board.load(std::memory_order_acquire);
  if (board != nullptr) return board;
  // Shared, so that children write into their parent's copy; anonymous: no
  // descriptor of ours in the program's way.
  void* p = format::RawMapOwn(sizeof(LessonBoard), PROT_READ | PROT_WRITE, MAP_SHARED);
  if (p == MAP_FAILED) return nullptr;
  auto* fresh = static_cast<LessonBoard*>(p);  // zeroed: every lesson kLessonFree
  if (!g_lesson_board.compare_exchange_strong(board, fresh, std::memory_order_acq_rel)) {
    RawSyscall(SYS_munmap, p, sizeof(LessonBoard));
    return board;
  }
  g_tracker_bytes.fetch_add(sizeof(LessonBoard), std::memory_order_relaxed);
  return fresh;
}

// Whether this thread of a fork child may still teach its parent.
bool MayTeach(const Shard& shard) {
  return g_lesson_parent_key != 0 && reinterpret_cast<uintptr_t>(&shard) == g_forking_shard &&
         g_lessons_posted < kLessonsPerChild;
}

// A free lesson of the board, claimed (kLessonWriting): the caller fills it
// and marks it ready. Null when the board is full or missing.
Lesson* ClaimLesson() {
  LessonBoard* board = g_lesson_board.load(std::memory_order_acquire);
  if (board == nullptr) return nullptr;
  for (Lesson& l : board->lessons) {
    uint32_t expected = kLessonFree;
    if (l.state.compare_exchange_strong(expected, kLessonWriting, std::memory_order_acquire)) return &l;
  }
  return nullptr;
}

// In a fork child, owner thread, busy: `e` (just learned, at frames
// [user_first, user_first + user_depth) the stack interned) goes to the
// parent when the child may still teach. Never waits.
void TeachParent(const Shard& shard, const CacheEntry& e, uint32_t user_first, uint32_t user_depth,
                 bool truncated) {
  if (LT_LIKELY(!MayTeach(shard)) || user_first + user_depth > e.slot_count) return;
  ++g_lessons_posted;
  Lesson* l = ClaimLesson();
  if (l == nullptr) return;
  l->kind = kLessonChain;
  l->slot_count = e.slot_count;
  l->user_first = static_cast<uint16_t>(user_first);
  l->user_depth = static_cast<uint16_t>(user_depth);
  l->truncated = truncated ? 1 : 0;
  l->rigid = e.rigid != 0 && e.guard_count == 0;  // a lesson carries the return addresses only
  l->parent_key = g_lesson_parent_key;
  l->shard = g_forking_shard;
  l->marker = e.marker;
  for (uint32_t i = 0; i < e.slot_count; ++i) l->frames[i] = e.frame(i);
  l->state.store(kLessonReady, std::memory_order_release);
}

// In a fork child, owner thread, busy: the chain cached at `marker` proved
// wrong here (VerifyHit). The parent must drop it too: its cache is what
// the next children start from, and their hits on it are checked only now
// and then (ShouldVerifyHit). Not limited like TeachParent: it happens once
// per position in a child.
void WarnParent(const Shard& shard, uintptr_t marker) {
  if (LT_LIKELY(g_lesson_parent_key == 0) || reinterpret_cast<uintptr_t>(&shard) != g_forking_shard) return;
  Lesson* l = ClaimLesson();
  if (l == nullptr) return;
  l->kind = kLessonDistrust;
  l->slot_count = 0;
  l->parent_key = g_lesson_parent_key;
  l->shard = g_forking_shard;
  l->marker = marker;
  l->state.store(kLessonReady, std::memory_order_release);
}

// Whether `e` holds the lesson's chain already.
bool Knows(const CacheEntry& e, const Lesson& l) {
  if (e.marker != l.marker || e.slot_count != l.slot_count) return false;
  for (uint32_t i = 0; i < l.slot_count; ++i)
    if (e.frame(i).slot != l.frames[i].slot || e.frame(i).value != l.frames[i].value) return false;
  return true;
}

// ---- Rigid chains ------------------------------------------------------------
//
// A slot's place follows from the frame below it: its return address names
// the code, the code's unwind rule gives the frame's CFA from its stack
// pointer (the place just above the slot below) plus a constant, and the
// next slot is just below that CFA. A rule may instead take the CFA from
// the frame pointer (a function with alloca or variable-length arrays, or
// any function of a program built with frame pointers): then the place
// follows from the frame pointer's value, which a frame below saved on the
// stack (the fast trace says where it read it). An entry also compares
// that saved value at its place, a "guard" (kept after the return
// addresses). When every slot's place follows so, from the stack pointer or
// from a guarded frame pointer, equal words at the cached places, up from
// the same marker, are the same chain: nothing can have moved a slot. Such
// a rigid chain's hits are checked against a full unwind once every
// kRigidHitsPerCheck hits, as a safety net; other chains' (a realigned
// stack, a guessed frame, a frame pointer taken from a register or from
// below the marker) on the schedule below (ShouldVerify).
constexpr uint32_t kRigidHitsPerCheck = 1u << 16;
// Chains each thread learns with libunwind's cursor before the fast trace
// (UnwindAndRemember).
constexpr uint8_t kCursorLearns = 2;
// Misses of a full set, none learned, that make it crowded (CaptureMissed).
constexpr uint8_t kCrowdedAfter = 16;
constexpr uint32_t kMaxGuards = kMaxCachedFrames;  // a program built with frame pointers: one a frame

// The guards that make the chain traced in `frames` (n of them, the cached
// part from `first_checked` up) rigid, written to `guards`; their count, or
// -1 when the chain is not rigid. frames[i] tells how slot i was found: by
// the rule of frame i - 1, from the frame pointer as the steps below left it
// when flagged kTraceLooseSlot; a step that read a frame pointer says where
// (fp_slot).
int RigidGuards(const TraceFrame* frames, uint32_t n, uint32_t first_checked, uintptr_t marker,
                const ThreadStack& stack, CacheEntry::Frame* guards) {
  int count = 0;
  int origin = -1;  // the step that read the frame pointer in use, -1: none yet (a register's)
  int guarded = -1;  // the origin the last guard compares
  for (uint32_t i = 0; i < n; ++i) {
    const TraceFrame& f = frames[i];
    if (i >= first_checked) {
      if ((f.flags & kTraceOtherReads) != 0) return -1;
      if ((f.flags & kTraceLooseSlot) != 0 && origin != guarded) {
        const uintptr_t at = origin < 0 ? 0 : frames[origin].fp_slot;
        // Compared at every lookup: above the marker, inside the stack.
        if (origin < 0 || at < marker || at + sizeof(uintptr_t) > stack.high || count == kMaxGuards) return -1;
        guards[count++] = {at, frames[origin].fp};
        guarded = origin;
      }
    }
    if (f.fp_slot != 0) origin = static_cast<int>(i);
  }
  return count;
}

// A way just (re)learned: its first hit is checked, or a rigid chain's
// kRigidHitsPerCheck-th.
void ResetHits(UnwindCache& cache, uint32_t set, uint32_t way, bool rigid) {
  TouchSet(cache, set);
  const uint32_t first = rigid ? kRigidHitsPerCheck : 1;
  Way& w = WayOf(cache, set, way);
  w.hits_to_check = first;
  w.checked_hit = first;
}

// Whether the way was never hit since ResetHits.
bool NeverHit(UnwindCache& cache, uint32_t set, uint32_t way) {
  const Way& w = WayOf(cache, set, way);
  const uint32_t checked = w.checked_hit;
  return checked == w.hits_to_check && (checked == 1 || checked == kRigidHitsPerCheck);
}

// The calling chain by libunwind's cursor, frame by frame: what the fast
// trace (TraceWithSlots) cannot follow. Fills ips and sps (each frame's
// stack pointer, its return address read from just below it) from frame 0,
// WalkFrames itself; returns the frame count. Clears `cacheable` at a
// signal frame; sets `truncated` when the chain is deeper than
// kMaxCachedFrames + 1.
LT_NOINLINE uint32_t WalkFrames(uintptr_t* ips, uintptr_t* sps, bool& cacheable, bool& truncated) {
  uint32_t n = 0;
  {
    ForkGateScope gate;  // libunwind's locks and the loader's must not be held across fork
    SignalsBlockedScope blocked;  // one mask change for the walk, not two per frame it looks up
    unw_context_t context;
    unw_cursor_t cursor;
    PrepareUnwinder();
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
  return n;
}

// Learning a chain: trace it with each return address's slot (kFast: the
// fast trace; else libunwind's cursor, WalkFrames), intern the user part,
// and fill `slot` when the stack can be cached. Returns the stack id. The
// cursor's variant keeps no room for the fast trace's frames or the rigid
// chains' guards (4.6 KiB of its frame): a new thread's first learns run
// on its stack's first pages, and one more page of stack is one more fault
// at every thread's start.
template <bool kFast>
LT_NOINLINE uint32_t LearnChain(Shard& shard, UnwindCache& cache, uintptr_t marker, uint32_t set, uint32_t way) {
  uintptr_t ips[kMaxCachedFrames + 1], sps[kMaxCachedFrames + 1];
  TraceFrame traced_frames[kFast ? kMaxCachedFrames + 1 : 1];
  uint32_t n = 0;
  bool cacheable = true, truncated = false;
  const int traced = kFast ? TraceWithSlots(ips, traced_frames, kMaxCachedFrames + 1) : -1;
  const bool fast = kFast && traced >= 0;
  if (LT_LIKELY(fast)) {
    n = static_cast<uint32_t>(traced);
    truncated = n == kMaxCachedFrames + 1;
    for (uint32_t i = 0; i < n; ++i) {
      if (traced_frames[i].slot == 0) cacheable = false;  // read from a signal context
      // The frame's stack pointer: its return address sits just below.
      sps[i] = traced_frames[i].slot + sizeof(uintptr_t);
    }
  } else {
    n = WalkFrames(ips, sps, cacheable, truncated);
  }

  // Our frames come first (the cursor's frame 0 is WalkFrames itself); the
  // user's follow.
  uint32_t first = 0;
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
  const uint32_t id = InternCaptured(&shard, stack);
  if (id == 0) return 0;

  // Cache only what every later check can read safely: slots inside the
  // thread's own stack, a complete chain, no signal frame. The frames up to
  // CaptureStackIdCached's own (this function, the miss path, and
  // CaptureStackIdCached, whose stack pointers lie at or below the marker
  // inside its frame) are calls a later lookup does not make: checking
  // starts at the first frame above the marker, whose slot holds the return
  // address into CaptureStackIdCached's caller. Found by stack pointer, not
  // by count, so it holds whether or not the compiler made a call between
  // them a tail call.
  uint32_t first_checked = 0;
  while (first_checked < n && sps[first_checked] <= marker) ++first_checked;
  if (!cacheable || truncated || cache.stack.high == 0 || first_checked >= n) return id;
  for (uint32_t i = first_checked; i < n; ++i) {
    const uintptr_t slot_address = sps[i] - sizeof(uintptr_t);
    if (slot_address < cache.stack.low || slot_address + sizeof(uintptr_t) > cache.stack.high) return id;
  }
  CacheEntry::Frame guards[kFast ? kMaxGuards : 1];
  const int guard_count = kFast && fast ? RigidGuards(traced_frames, n, first_checked, marker, cache.stack, guards) : -1;
  const uint32_t slots = n - first_checked;
  CacheEntry* e = EntryFor(shard, WayOf(cache, set, way).entry, slots + (guard_count > 0 ? guard_count : 0));
  if (e == nullptr) return id;
  e->marker = marker;
  e->stack_id = id;
  e->counters = nullptr;
  e->rigid = guard_count >= 0 ? 1 : 0;
  ResetHits(cache, set, way, e->rigid != 0);
  e->taught_at = 0;
  e->slot_count = static_cast<uint8_t>(slots);
  e->guard_count = static_cast<uint8_t>(guard_count > 0 ? guard_count : 0);
  for (uint32_t i = first_checked; i < n; ++i) e->set_frame(i - first_checked, {sps[i] - sizeof(uintptr_t), ips[i]});
  if constexpr (kFast)
    for (uint32_t g = 0; g < e->guard_count; ++g) e->set_frame(slots + g, guards[g]);
  PadFrames(*e);
  SetProbes(cache, set, way);
  CopyProbe(cache, set, way);
  if (first >= first_checked) TeachParent(shard, *e, first - first_checked, stack.depth, stack.truncated);
  return id;
}

// A thread's first chains are walked with the cursor: the fast trace's
// first use on a thread makes libunwind's frame table for it (a mapping of
// its own, made while every other new thread maps too), which a thread that
// learns a chain or two and never unwinds again does not need (1,000
// threads allocating twice each: 0.16 s by the cursor, 0.28 s by the fast
// trace). A thread that goes on learning makes it then. The main thread
// lives as long as the process: it makes its table at once, as the
// cursor's eight-trace walk would cost more (a process's first capture).
LT_NOINLINE uint32_t UnwindAndRemember(Shard& shard, UnwindCache& cache, uintptr_t marker, uint32_t set,
                                       uint32_t way) {
  if (cache.learned >= kCursorLearns || cache.main_stack) return LearnChain<true>(shard, cache, marker, set, way);
  ++cache.learned;
  return LearnChain<false>(shard, cache, marker, set, way);
}

// Without the cache: unw_backtrace, which keeps its own per-frame cache.
LT_NOINLINE uint32_t CaptureUncached(Shard& shard, uint64_t* hash_out = nullptr) {
  CapturedStack stack;
  CaptureStack(stack);
  return InternCaptured(&shard, stack, hash_out);
}

// Which hits of an entry that is not rigid (Rigid chains, above) are
// checked against a full unwind: the 1st, 2nd, 4th ... 1024th, then every
// 1024th. The cache's argument (each frame's CFA follows from its IP and the
// frame below) fails for frames of dynamic size (alloca, variable-length
// arrays, realigned stacks): a slot of another chain can hold, stale, the
// very return address a cached chain expects there. Such a chain is caught
// at its first hits; the rest cost one unwind in a thousand hits.
bool ShouldVerify(uint32_t hits) { return (hits & (hits - 1)) == 0 || (hits & 1023) == 0; }

// The hit after `hit` that ShouldVerify checks.
uint32_t NextCheckedHit(uint32_t hit) { return hit < 1024 ? 2 * hit : hit + 1024; }

// `marker`'s cached chains are dropped and the position is never cached
// again. Every chain cached there goes: the lookup's hit path does not look
// at `distrusted`.
void Distrust(UnwindCache& cache, uintptr_t marker) {
  const uint32_t set = SetOf(marker);
  TouchSet(cache, set);
  cache.sets[set].distrusted = marker;
  for (uint32_t w = 0, ways = WayCount(cache, set); w < ways; ++w) {
    CacheEntry* e = WayOf(cache, set, w).entry;
    if (e != nullptr && e->marker == marker) e->marker = 0;
  }
}

// A hit to check: the full unwind's answer stands. On a mismatch the entry
// is dropped and its marker never cached again (counted in health as
// unwind_cache_mismatches).
LT_NOINLINE uint32_t VerifyHit(Shard& shard, UnwindCache& cache, CacheEntry& e) {
  const uint32_t id = CaptureUncached(shard);
  if (id == 0 || id == e.stack_id) return e.stack_id;
  g_health.unwind_cache_mismatches.fetch_add(1, std::memory_order_relaxed);
  const uintptr_t marker = e.marker;
  Distrust(cache, marker);
  WarnParent(shard, marker);
  return id;
}

// A hit whose countdown ran out (hits_to_check): the checked hit number of
// ShouldVerify's schedule. The next one is set, and this one checked. A
// chain a fork child taught (lessons above) is hit once by each of many
// short-lived children, whose counts die with them: a child's first hit is
// numbered by the forks since the lesson instead, so that the children
// check it on the same schedule as one process would (the 1st, 2nd, 4th ...
// child after the lesson); a child's later hits count as usual.
}  // namespace

LT_NOINLINE uint32_t unwind_cache_internal::CheckedHit(Shard& shard, UnwindCache& cache, Way& w) {
  CacheEntry& e = *w.entry;
  const uint32_t hit = w.checked_hit;
  const uint32_t next = e.rigid ? hit + kRigidHitsPerCheck : NextCheckedHit(hit);
  w.checked_hit = next;
  w.hits_to_check = next - hit;
  if (LT_UNLIKELY(e.taught_at != 0 && hit == 1) &&
      !ShouldVerify(g_fork_count.load(std::memory_order_relaxed) - e.taught_at))
    return e.stack_id;
  return VerifyHit(shard, cache, e);
}

namespace {

LT_NOINLINE UnwindCache* FirstUse(Shard& shard);
LT_NOINLINE bool GrownMainStack(UnwindCache& cache, uintptr_t marker);

// In a full set, a way whose entry was learned here and never hit since
// (nor taught): what a lesson may take. kWays when there is none.
uint32_t UnusedWay(UnwindCache& cache, uint32_t set) {
  for (uint32_t w = 0; w < kWays; ++w) {
    const CacheEntry* e = cache.sets[set].ways[w].entry;
    if (e != nullptr && NeverHit(cache, set, w) && e->taught_at == 0) return w;
  }
  return kWays;
}

// The parent, on the forking thread (the shard's owner), busy: `l` goes into
// the cache when it is sound here and finds room.
void Learn(Shard& shard, const Lesson& l, uint32_t fork_count) {
  const uint32_t n = l.slot_count;
  if (n == 0 || n > kMaxCachedFrames || l.user_depth > kMaxUserFrames || l.user_first + l.user_depth > n) return;
  UnwindCache* cache = FirstUse(shard);
  if (cache == nullptr || cache->stack.high == 0) return;
  const uintptr_t low = cache->stack.low, high = cache->stack.high;
  if (l.marker - low >= high - low) return;
  for (uint32_t i = 0; i < n; ++i)
    if (l.frames[i].slot < low || l.frames[i].slot + sizeof(uintptr_t) > high) return;
  const uint32_t set = SetOf(l.marker);
  if (cache->sets[set].distrusted == l.marker) return;
  Way* ways = cache->sets[set].ways;
  uint32_t free_way = kWays;
  for (uint32_t w = 0; w < kWays; ++w) {
    const CacheEntry* e = ways[w].entry;
    if (e == nullptr || e->marker == 0) {
      if (free_way == kWays) free_way = w;
      if (e == nullptr) break;  // ways fill in order
    } else if (Knows(*e, l)) {
      return;
    }
  }
  // A full set gives up an entry of its own that was never hit, never one
  // it uses (nor another lesson).
  if (free_way == kWays) free_way = UnusedWay(*cache, set);
  if (free_way == kWays) {
    // Every chain of the set in use: the lesson goes to the set's overflow
    // (made now, within the budget), where a child's miss finds it
    // (OverflowMatch) without an unwind; never over an own way.
    if (const OverflowWays* o = cache->sets[set].overflow; o != nullptr)
      for (uint32_t i = 0; i < kOverflowWays; ++i)
        if (const CacheEntry* e = o->ways[i].entry; e != nullptr && e->marker != 0 && Knows(*e, l)) return;
    free_way = CrowdedWay(shard, *cache, set);
    if (free_way < kWays) return;
  }
  CapturedStack stack;
  stack.depth = l.user_depth;
  stack.truncated = l.truncated != 0;
  for (uint32_t i = 0; i < l.user_depth; ++i) stack.pcs[i] = l.frames[l.user_first + i].value;
  const uint32_t id = InternCaptured(&shard, stack);
  if (id == 0) return;
  CacheEntry* e = EntryFor(shard, WayOf(*cache, set, free_way).entry, n);
  if (e == nullptr) return;
  e->marker = l.marker;
  e->stack_id = id;
  e->counters = nullptr;
  e->rigid = l.rigid;
  ResetHits(*cache, set, free_way, e->rigid != 0);
  // The first child to see it is the one this fork makes (CheckedHit).
  e->taught_at = fork_count - 1;
  e->slot_count = static_cast<uint8_t>(n);
  e->guard_count = 0;
  for (uint32_t i = 0; i < n; ++i) e->set_frame(i, l.frames[i]);
  PadFrames(*e);
  SetProbes(*cache, set, free_way);
  CopyProbe(*cache, set, free_way);
  // The site's counters too, made here: a child that books at this stack
  // then finds them in the index it shares with its parent, where making
  // them itself wrote the index and a fresh slot (copy-on-write faults in
  // every child). Never booked here, they stay zero, and a dump writes no
  // site for zero counters (snapshot.cc).
  if (CurrentMode() == Mode::kExact) shard.CountersFor(id);
}

// A lookup that found no matching way (or no cache yet): everything but the
// hit, out of line so the hit path stays short. The cache is made here at
// the thread's first capture, and a marker outside the thread's stack
// (another stack, or bounds unknown) is never cached.
}  // namespace

LT_NOINLINE uint32_t unwind_cache_internal::CaptureMissed(Shard& shard, uintptr_t marker) {
  ErrnoKept errno_kept;  // the unwind and the cache's first use make system calls that may fail
  UnwindCache* cache = FirstUse(shard);
  // Unsigned: one compare for both bounds (unknown bounds, high 0, never pass).
  if (cache == nullptr ||
      (marker - cache->stack.low >= cache->stack.high - cache->stack.low && !GrownMainStack(*cache, marker)))
    return CaptureUncached(shard);  // the budget is spent, or another stack
  const uint32_t set = SetOf(marker);
  CacheSet& s = cache->sets[set];
  if (LT_UNLIKELY(!SetTouched(*cache, set))) WriteFirst(*cache, set);
  if (LT_UNLIKELY(s.distrusted == marker)) return CaptureUncached(shard);
  if (OverflowWays* overflow = s.overflow; overflow != nullptr) {
    // The set's other ways, as the hit path looks through its own.
    if (Way* w = OverflowMatch(*overflow, marker); w != nullptr) {
      Way& own = Promote(s, *w);
      if (LT_UNLIKELY(--own.hits_to_check == 0))
        return CheckedHit(shard, *cache, own);
      return own.entry->stack_id;
    }
  }
  uint32_t free_way = kWays;
  for (uint32_t w = 0; w < kWays; ++w) {
    if (s.ways[w].entry == nullptr || s.ways[w].entry->marker == 0) {
      free_way = w;
      break;
    }
  }
  // Learn only a chain likely to come back: one that finds a free way, or
  // the one that missed here last time. Learning one costs about what an
  // unw_backtrace does, but learning every miss in a crowded set pushes out
  // chains still in use for chains seen once (cc1 compiling a small file:
  // 387 million instructions so, 351 million this way). A position reached
  // by thousands of chains in turn is never learned and costs one
  // unw_backtrace per allocation, as without the cache.
  if (free_way < kWays) return UnwindAndRemember(shard, *cache, marker, set, free_way);
  // A fork child that may still teach learns the chain over an entry never
  // hit (in its own copy of the cache), so that it can teach it: its
  // parent takes a lesson into such a way too (Learn).
  if (LT_UNLIKELY(MayTeach(shard))) {
    const uint32_t unused = UnusedWay(*cache, set);
    if (unused < kWays) return UnwindAndRemember(shard, *cache, marker, set, unused);
    // Every chain of the set in use: the child learns this one in the
    // set's overflow (made in its own copy if need be) to teach it, and its
    // parent takes the lesson into its overflow too (Learn). Otherwise such
    // a chain is unwound afresh in every child (a bash subshell's
    // parse_and_execute: an unw_backtrace, its stack interned, a dozen
    // page faults in each `$(...)`).
    const uint32_t way = CrowdedWay(shard, *cache, set);
    if (way >= kWays) return UnwindAndRemember(shard, *cache, marker, set, way);
  }
  // A crowded set (one with overflow ways) learns every chain that misses:
  // with 128 ways a chain seen once pushes out one seen long ago, not one in
  // use.
  if (s.overflow != nullptr)
    return UnwindAndRemember(shard, *cache, marker, set, CrowdedWay(shard, *cache, set));
  uint64_t hash = 0;
  const uint32_t id = CaptureUncached(shard, &hash);
  const uint64_t key = (hash ^ marker) | 1;  // never 0, the "nothing missed" value
  // A full set that keeps missing with other chains each time (many chains
  // in turn, none twice in a row) is crowded too: it gets its overflow.
  if (s.last_miss != key && ++s.full_misses < kCrowdedAfter) {
    s.last_miss = key;
    return id;
  }
  s.last_miss = 0;
  const uint32_t learned = UnwindAndRemember(shard, *cache, marker, set, CrowdedWay(shard, *cache, set));
  return learned != 0 ? learned : id;
}

namespace {

// The main stack grows as the program calls deeper; its bounds are the
// mapping as it was when learned. A marker just below them (within
// kMainStackReach) is asked about again, at most kMaxStackRegrowths times a
// thread (each costs a PROCMAP_QUERY): true when the stack has grown to hold
// it. A marker further away is on another stack (a coroutine's, say).
constexpr uintptr_t kMainStackReach = 64u << 20;
constexpr uint8_t kMaxStackRegrowths = 8;

LT_NOINLINE bool GrownMainStack(UnwindCache& cache, uintptr_t marker) {
  if (!cache.main_stack || marker >= cache.stack.low || cache.stack.low - marker > kMainStackReach ||
      cache.stack_regrowths >= kMaxStackRegrowths)
    return false;
  ++cache.stack_regrowths;
  LearnStackBounds(cache);
  return marker - cache.stack.low < cache.stack.high - cache.stack.low;
}

// The cache, made and the thread's stack bounds learned before its first use
// on this thread. Null when the budget is spent.
LT_NOINLINE UnwindCache* FirstUse(Shard& shard) {
  UnwindCache* cache = CacheOf(shard);
  if (cache != nullptr && !cache->stack_known) LearnStackBounds(*cache);
  return cache;
}

}  // namespace

LT_NOINLINE uint32_t CaptureStackIdCached(Shard& shard) {
  return LookupStackId<kSiteGeneric>(shard, shard.unwind_cache).stack_id;
}

void PrepareCapturesForSandbox(Shard& shard) {
  {
    ForkGateScope gate;
    SignalsBlockedScope blocked;
    PrepareUnwinder();
  }
  FirstUse(shard);
}

uint64_t UnwindCacheBytes() { return g_cache_bytes.load(std::memory_order_relaxed); }

void ResetUnwindCache(Shard& shard) {
  if (shard.unwind_cache == nullptr) return;
  UnwindCache& cache = *shard.unwind_cache;
  cache.stack_known = false;
  cache.stack_regrowths = 0;
  cache.learned = 0;
  cache.stack = ThreadStack{};
  // Written only where set: a page no set of it ever used stays untouched.
  for (CacheSet& s : cache.sets) {
    if (s.distrusted != 0) s.distrusted = 0;
    if (s.full_misses != 0) s.full_misses = 0;
    // The copies' slots were in the old thread's stack.
    if (s.overflow != nullptr)
      for (CacheEntry::Frame& p : s.overflow->probes) p = kNoProbe;
  }
  for (uint32_t set = 0; set < kSets; ++set)
    for (uint32_t w = 0, ways = WayCount(cache, set); w < ways; ++w)
      if (CacheEntry* e = WayOf(cache, set, w).entry; e != nullptr) e->marker = 0;
}

void UnwindCachePrepareFork() {
  const uint32_t fork_count = g_fork_count.fetch_add(1, std::memory_order_relaxed) + 1;
  ThreadState& t = t_state;
  // Not inside leaktrace on this thread (a fork from a signal handler that
  // interrupted a capture): the shard's cache may be half changed.
  if (t.busy != 0 || t.shard == nullptr) return;
  BusyScope busy;
  LessonBoard* board = LessonBoardMade();
  if (board == nullptr) return;
  if (g_lesson_key == 0) {
    timespec now;
    KernelClockGettime(CLOCK_MONOTONIC, &now);
    g_lesson_key = (static_cast<uint64_t>(RawSyscall(SYS_getpid)) << 32) ^ static_cast<uint32_t>(now.tv_nsec) ^
                   static_cast<uint64_t>(now.tv_sec) * 0x9E3779B97F4A7C15ULL;
    if (g_lesson_key == 0) g_lesson_key = 1;
  }
  for (Lesson& l : board->lessons) {
    if (l.state.load(std::memory_order_acquire) != kLessonReady || l.parent_key != g_lesson_key) continue;
    uint32_t expected = kLessonReady;
    if (!l.state.compare_exchange_strong(expected, kLessonReading, std::memory_order_acquire)) continue;
    if (l.shard == reinterpret_cast<uintptr_t>(t.shard)) {
      if (l.kind == kLessonDistrust) {
        if (t.shard->unwind_cache != nullptr) Distrust(*t.shard->unwind_cache, l.marker);
      } else {
        Learn(*t.shard, l, fork_count);
      }
    }
    // Another thread's lesson is dropped: that thread learns the chain again
    // from its next child.
    l.state.store(kLessonFree, std::memory_order_release);
  }
}

LT_FORK_CHILD_CODE void UnwindCacheChildAfterFork() {
  g_lesson_parent_key = g_lesson_key;
  g_lesson_key = 0;
  g_forking_shard = reinterpret_cast<uintptr_t>(t_state.shard);
  g_lessons_posted = 0;
}

#else  // not x86-64: CaptureStackId never calls the cache

uint64_t UnwindCacheBytes() { return 0; }
void ResetUnwindCache(Shard&) {}
void UnwindCachePrepareFork() {}
void UnwindCacheChildAfterFork() {}

#endif

}  // namespace leaktrace::preload
