#include "preload/resources/label_table.h"
#include "preload/internal/compiler.h"

#include <stdio.h>

#include <atomic>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "preload/internal/arena.h"
#include "preload/internal/spin_lock.h"

namespace leaktrace::preload {
namespace {

// Open addressing over a small index of entry numbers; the labels
// themselves are kept in insertion order. A process's first labels (a fork
// child's first opens: a postgres backend opens a few dozen relation files)
// then touch a few pages: some of the index's 8 and the entries' first,
// where slots of 24 bytes spread over the table at random by hash touched
// one page of 96 per label, twice (Find's read of a page never touched maps
// the zero page, the insert's write then faults again): ~21 of the ~60 page
// faults a postgres backend took beyond plain's.
constexpr uint32_t kIndexSlots = 1 << 14;       // power of two; at most half used
constexpr uint32_t kMaxLabels = kIndexSlots / 2;  // entry numbers fit the index's 16 bits
// The last entries are for kinds alone (InternKindLabel): a path that finds
// the table full falls back to its bare kind ("file"), which must then
// still be there to be had, whether or not it was interned before.
constexpr uint32_t kKindReserve = 256;
constexpr size_t kMaxLabelBytes = 4096 + 64;

struct Entry {
  uint64_t hash;  // never 0
  const char* text;
  uint32_t size;
};

// constinit: zero pages the loader maps, nothing walked at process start.
// An index slot holds its entry's number + 1 (0: empty), stored (release)
// after the entry is written.
constinit std::atomic<uint16_t> g_index[kIndexSlots];
constinit Entry g_entries[kMaxLabels];
std::atomic<uint32_t> g_used{0};
LT_FORK_LOCK SpinLock g_insert_lock;
Arena g_arena;  // owned by the holder of g_insert_lock

uint64_t Hash(const char* text, size_t n) {
  const uint64_t h = XXH3_64bits(text, n);
  return h == 0 ? 1 : h;
}

// Probes for `text`. Returns its id (entry number + 1), or 0 with *empty
// set to the first empty index slot of its probe sequence (or kIndexSlots
// when none was found).
uint32_t Find(uint64_t h, const char* text, size_t n, uint32_t* empty) {
  constexpr uint32_t mask = kIndexSlots - 1;
  for (uint32_t i = static_cast<uint32_t>(h) & mask, probes = 0; probes < kIndexSlots;
       i = (i + 1) & mask, ++probes) {
    const uint32_t id = g_index[i].load(std::memory_order_acquire);
    if (id == 0) {
      *empty = i;
      return 0;
    }
    const Entry& e = g_entries[id - 1];
    if (e.hash == h && e.size == n && std::memcmp(e.text, text, n) == 0) return id;
  }
  *empty = kIndexSlots;
  return 0;
}

// InternLabel, with entries up to `limit`.
uint32_t Intern(const char* text, size_t n, uint32_t limit) {
  if (n > kMaxLabelBytes) n = kMaxLabelBytes;
  const uint64_t h = Hash(text, n);
  uint32_t empty;
  if (uint32_t id = Find(h, text, n, &empty)) return id;
  SpinGuard guard(g_insert_lock);
  if (uint32_t id = Find(h, text, n, &empty)) return id;  // inserted meanwhile
  const uint32_t used = g_used.load(std::memory_order_relaxed);
  if (empty == kIndexSlots || used >= limit) return 0;
  char* copy = static_cast<char*>(g_arena.Allocate(n + 1));
  if (copy == nullptr) return 0;
  std::memcpy(copy, text, n);
  copy[n] = '\0';
  g_entries[used] = {h, copy, static_cast<uint32_t>(n)};
  // Counted before it is found: LabelText takes an id up to the count.
  g_used.store(used + 1, std::memory_order_release);
  g_index[empty].store(static_cast<uint16_t>(used + 1), std::memory_order_release);
  return used + 1;
}

}  // namespace

uint32_t InternLabel(const char* text, size_t n) { return Intern(text, n, kMaxLabels - kKindReserve); }
uint32_t InternLabel(const char* text) { return InternLabel(text, std::strlen(text)); }
uint32_t InternKindLabel(const char* kind) { return Intern(kind, std::strlen(kind), kMaxLabels); }

const char* LabelText(uint32_t id) {
  // An id handed out was published (Find's acquire, or the inserting
  // thread's own store) before anyone holds it.
  if (id == 0 || id > g_used.load(std::memory_order_acquire)) return "";
  return g_entries[id - 1].text;
}

uint64_t LabelCount() { return g_used.load(std::memory_order_relaxed); }

void LabelTablePrepareFork() { g_insert_lock.Lock(); }
void LabelTableParentAfterFork() { g_insert_lock.Unlock(); }
LT_FORK_CHILD_CODE void LabelTableChildAfterFork() { g_insert_lock.Reset(); }

uint32_t PrefixedLabel(const char* prefix, uint32_t label) {
  char text[512];
  const int n = snprintf(text, sizeof text, "%s: %s", prefix, LabelText(label));
  if (n <= 0) return InternKindLabel(prefix);
  return InternLabel(text, static_cast<size_t>(n) < sizeof text ? static_cast<size_t>(n) : sizeof text - 1);
}

}  // namespace leaktrace::preload
