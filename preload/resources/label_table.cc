#include "preload/resources/label_table.h"
#include "preload/internal/compiler.h"

#include <atomic>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "preload/internal/arena.h"
#include "preload/internal/spin_lock.h"

namespace leaktrace::preload {
namespace {

constexpr uint32_t kCapacity = 1 << 14;  // power of two; at most half used
constexpr size_t kMaxLabelBytes = 4096 + 64;

struct Slot {
  std::atomic<uint64_t> hash{0};  // 0: empty; published after text/size
  const char* text = nullptr;
  uint32_t size = 0;
};

// constinit: zero pages the loader maps, not 16,384 slots a constructor
// walks at every process start.
constinit Slot g_slots[kCapacity];
std::atomic<uint32_t> g_used{0};
LT_FORK_LOCK SpinLock g_insert_lock;
Arena g_arena;  // owned by the holder of g_insert_lock

uint64_t Hash(const char* text, size_t n) {
  const uint64_t h = XXH3_64bits(text, n);
  return h == 0 ? 1 : h;
}

// Probes for `text`. Returns its id, or 0 with *empty set to the first empty
// slot of its probe sequence (or kCapacity when none was found).
uint32_t Find(uint64_t h, const char* text, size_t n, uint32_t* empty) {
  constexpr uint32_t mask = kCapacity - 1;
  for (uint32_t i = static_cast<uint32_t>(h) & mask, probes = 0; probes < kCapacity; i = (i + 1) & mask, ++probes) {
    const uint64_t sh = g_slots[i].hash.load(std::memory_order_acquire);
    if (sh == 0) {
      *empty = i;
      return 0;
    }
    if (sh == h && g_slots[i].size == n && std::memcmp(g_slots[i].text, text, n) == 0) return i + 1;
  }
  *empty = kCapacity;
  return 0;
}

}  // namespace

uint32_t InternLabel(const char* text, size_t n) {
  if (n > kMaxLabelBytes) n = kMaxLabelBytes;
  const uint64_t h = Hash(text, n);
  uint32_t empty;
  if (uint32_t id = Find(h, text, n, &empty)) return id;
  SpinGuard guard(g_insert_lock);
  if (uint32_t id = Find(h, text, n, &empty)) return id;  // inserted meanwhile
  if (empty == kCapacity || g_used.load(std::memory_order_relaxed) * 2 >= kCapacity) return 0;
  char* copy = static_cast<char*>(g_arena.Allocate(n + 1));
  if (copy == nullptr) return 0;
  std::memcpy(copy, text, n);
  copy[n] = '\0';
  Slot& s = g_slots[empty];
  s.text = copy;
  s.size = static_cast<uint32_t>(n);
  s.hash.store(h, std::memory_order_release);
  g_used.fetch_add(1, std::memory_order_relaxed);
  return empty + 1;
}

uint32_t InternLabel(const char* text) { return InternLabel(text, std::strlen(text)); }

const char* LabelText(uint32_t id) {
  if (id == 0 || id > kCapacity) return "";
  const Slot& s = g_slots[id - 1];
  if (s.hash.load(std::memory_order_acquire) == 0) return "";
  return s.text;
}

uint64_t LabelCount() { return g_used.load(std::memory_order_relaxed); }

void LabelTablePrepareFork() { g_insert_lock.Lock(); }
void LabelTableParentAfterFork() { g_insert_lock.Unlock(); }
LT_FORK_CHILD_CODE void LabelTableChildAfterFork() { g_insert_lock.Reset(); }

}  // namespace leaktrace::preload
