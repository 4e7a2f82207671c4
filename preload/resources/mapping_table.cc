#include "preload/resources/mapping_table.h"
#include "preload/internal/compiler.h"

#include <pthread.h>

#include <atomic>
#include <functional>
#include <map>
#include <new>

#include "preload/internal/arena.h"
#include "preload/snapshot/process_info.h"

namespace leaktrace::preload {
namespace {

struct Entry {
  uintptr_t end;
  uint64_t origin;
  uint32_t stack_id;
  uint32_t label_id;
  int64_t birth_ns;
};

using Map = std::map<uintptr_t, Entry, std::less<uintptr_t>, ArenaAllocator<std::pair<const uintptr_t, Entry>>>;

LT_FORK_LOCK pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
Arena g_arena;  // owned by the holder of g_lock
alignas(Map) unsigned char g_map_storage[sizeof(Map)];
Map* g_map = nullptr;  // built on first use: hooks can run before our constructors
uint64_t g_next_origin = 1;
std::atomic<uint64_t> g_count{0};
std::atomic<uint64_t> g_failures{0};

Map& TheMap() {
  if (g_map == nullptr) g_map = new (g_map_storage) Map(ArenaAllocator<std::pair<const uintptr_t, Entry>>(&g_arena));
  return *g_map;
}

// Arena::Allocate returning nullptr traps in ArenaAllocator; only mmap
// failing makes it so. Inserting is the one place that allocates.
bool Put(Map& m, uintptr_t start, const Entry& e) {
  m.emplace(start, e);
  g_count.store(m.size(), std::memory_order_relaxed);
  return true;
}

}  // namespace

MappingTableLock::MappingTableLock() { pthread_mutex_lock(&g_lock); }
MappingTableLock::~MappingTableLock() { pthread_mutex_unlock(&g_lock); }

void MappingRemove(uintptr_t start, uintptr_t end) {
  if (start >= end) return;
  Map& m = TheMap();
  auto it = m.upper_bound(start);
  if (it != m.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > start) it = prev;
  }
  while (it != m.end() && it->first < end) {
    const uintptr_t s = it->first;
    const Entry e = it->second;
    it = m.erase(it);
    if (s < start) Put(m, s, Entry{start, e.origin, e.stack_id, e.label_id, e.birth_ns});  // the left piece stays
    if (e.end > end) {
      Put(m, end, Entry{e.end, e.origin, e.stack_id, e.label_id, e.birth_ns});  // the right piece stays
      break;
    }
  }
  g_count.store(m.size(), std::memory_order_relaxed);
}

bool MappingInsert(uintptr_t start, uintptr_t end, uint32_t stack_id, uint32_t label_id) {
  if (start >= end || stack_id == 0) return false;
  MappingRemove(start, end);
  return Put(TheMap(), start, Entry{end, g_next_origin++, stack_id, label_id, MonotonicNs()});
}

bool MappingFind(uintptr_t addr, MappingView* out) {
  Map& m = TheMap();
  auto it = m.upper_bound(addr);
  if (it == m.begin()) return false;
  --it;
  if (it->second.end <= addr) return false;
  *out = MappingView{it->first, it->second.end, it->second.origin, it->second.stack_id, it->second.label_id,
                     it->second.birth_ns};
  return true;
}

void MappingMove(uintptr_t old, size_t old_size, uintptr_t fresh, size_t new_size, bool keep_old) {
  MappingView v;
  const bool tracked = MappingFind(old, &v);
  if (!keep_old) MappingRemove(old, old + old_size);
  if (!tracked) {
    // Not ours to count (the allocator's, or mapped before leaktrace), but
    // the new range may cover stale records.
    MappingRemove(fresh, fresh + new_size);
    return;
  }
  MappingRemove(fresh, fresh + new_size);
  Put(TheMap(), fresh, Entry{fresh + new_size, v.origin, v.stack_id, v.label_id, v.birth_ns});  // grown or moved: same birth
}

void ForEachMapping(void (*fn)(const MappingView&, void*), void* ctx) {
  for (const auto& [start, e] : TheMap())
    fn(MappingView{start, e.end, e.origin, e.stack_id, e.label_id, e.birth_ns}, ctx);
}

uint64_t MappingCount() { return g_count.load(std::memory_order_relaxed); }
uint64_t MappingFailures() { return g_failures.load(std::memory_order_relaxed); }

void MappingTablePrepareFork() { pthread_mutex_lock(&g_lock); }
void MappingTableParentAfterFork() { pthread_mutex_unlock(&g_lock); }
LT_FORK_CHILD_CODE void MappingTableChildAfterFork() { g_lock = PTHREAD_MUTEX_INITIALIZER; }

}  // namespace leaktrace::preload
