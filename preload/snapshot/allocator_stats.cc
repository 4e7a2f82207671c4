#include "preload/snapshot/allocator_stats.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stddef.h>

#include <atomic>

#include "preload/interpose/next_symbol.h"
#include "preload/interpose/real_functions.h"
#include "preload/internal/libc_functions.h"
#include "preload/interpose/quiet_dlsym.h"

namespace leaktrace::preload {
namespace {

using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
using Mallinfo2 = struct mallinfo2 (*)();
using TcProperty = int (*)(const char*, size_t*);

// Looked up once, by the first dump (two dumps may race to it: both find
// the same).
std::atomic<bool> g_resolved{false};
Mallctl g_mallctl = nullptr;
Mallinfo2 g_mallinfo2 = nullptr;
TcProperty g_tc_property = nullptr;

// Where the module holding `address` is mapped; nullptr when none holds it.
// _dl_find_object (glibc 2.35) is a search over the loaded modules; dladdr,
// the fallback, also looks for the nearest symbol, a walk over every symbol
// of the module: six of those were half the instructions of a small
// program's exit dump (callgrind, bench/patterns/noop).
const void* ModuleOf(void* address) {
  dl_find_object object;
  if (_dl_find_object(address, &object) == 0) return object.dlfo_map_start;
  Dl_info info;
  return LibcDladdr(address, &info) != 0 ? info.dli_fbase : nullptr;
}

// The next definition of `name` after leaktrace (the global one when
// attached: g_real_scope, real_functions.h), when the module behind malloc
// (`allocator`) defines it (the way native_api.cc tells the allocator's
// functions from another library's): glibc's mallinfo2 says nothing of a
// jemalloc heap.
//
// Preloaded, the modules' own tables are read (FindInModules, next_symbol.h), and
// a name they do not answer is taken as undefined: dlsym, asked for a name
// no module defines, mallocs its error message, and on the dumper thread
// (this runs at the first dump) that made jemalloc give the thread an arena
// of its own, whose background thread (redis: background_thread on) then
// stayed in the program. Attached, dlsym answers.
constexpr const char* kAllocatorSymbols[] = {"mallctl", "MallocExtension_GetNumericProperty", "mallinfo2"};
constexpr size_t kSymbols = sizeof kAllocatorSymbols / sizeof kAllocatorSymbols[0];

struct Lookup {
  bool opened = false;
  void* found[kSymbols] = {};
};

// The modules' own tables read with the loader's list held (a plugin
// dlclosed meanwhile unmapped the tables being read: WithModulesHeld).
void FindInModules(void* data) {
  auto* lookup = static_cast<Lookup*>(data);
  NextSymbols modules;
  lookup->opened = modules.Open();
  if (!lookup->opened) return;
  for (size_t i = 0; i < kSymbols; ++i) lookup->found[i] = modules.Find(kAllocatorSymbols[i]);
}

void* IfTheAllocators(void* fn, const void* allocator) {
  if (fn == nullptr || allocator == nullptr) return nullptr;
  return ModuleOf(fn) == allocator ? fn : nullptr;
}

void Resolve() {
  if (g_resolved.load(std::memory_order_acquire)) return;
  const void* allocator = real.malloc != nullptr ? ModuleOf(reinterpret_cast<void*>(real.malloc)) : nullptr;
  Lookup lookup;
  if (g_real_scope == RTLD_NEXT) WithModulesHeld(FindInModules, &lookup);
  if (!lookup.opened)  // attached, or tables that cannot stand in for dlsym: dlsym answers, outside the lock
    for (size_t i = 0; i < kSymbols; ++i) lookup.found[i] = QuietDlsym(g_real_scope, kAllocatorSymbols[i]);
  g_mallctl = reinterpret_cast<Mallctl>(IfTheAllocators(lookup.found[0], allocator));
  g_tc_property = reinterpret_cast<TcProperty>(IfTheAllocators(lookup.found[1], allocator));
  g_mallinfo2 = reinterpret_cast<Mallinfo2>(IfTheAllocators(lookup.found[2], allocator));
  g_resolved.store(true, std::memory_order_release);
}

uint64_t JemallocStat(const char* name) {
  size_t value = 0;
  size_t size = sizeof value;
  return g_mallctl(name, &value, &size, nullptr, 0) == 0 ? value : 0;
}

// stats.resident: "pages dedicated to allocator metadata, pages backing
// active allocations, and unused dirty pages" (jemalloc(3)); an upper bound,
// as the allocator says. The stats are a copy refreshed by writing "epoch".
AllocatorStats Jemalloc() {
  AllocatorStats s;
  uint64_t epoch = 1;
  size_t size = sizeof epoch;
  if (g_mallctl("epoch", &epoch, &size, &epoch, size) != 0) return s;
  s.kind = AllocatorKind::kJemalloc;
  s.in_use = JemallocStat("stats.allocated");
  s.resident = JemallocStat("stats.resident");
  s.mapped = JemallocStat("stats.mapped");
  s.free = s.resident > s.in_use ? s.resident - s.in_use : 0;
  return s;
}

uint64_t TcmallocStat(const char* name) {
  size_t value = 0;
  return g_tc_property(name, &value) ? value : 0;
}

// generic.total_physical_bytes: the heap minus what tcmalloc has returned to
// the system (pageheap_unmapped_bytes), plus its metadata.
AllocatorStats Tcmalloc() {
  AllocatorStats s;
  size_t probe = 0;
  if (!g_tc_property("generic.current_allocated_bytes", &probe)) return s;
  s.kind = AllocatorKind::kTcmalloc;
  s.in_use = probe;
  s.resident = TcmallocStat("generic.total_physical_bytes");
  if (s.resident == 0) {
    const uint64_t heap = TcmallocStat("generic.heap_size");
    const uint64_t unmapped = TcmallocStat("tcmalloc.pageheap_unmapped_bytes");
    s.resident = heap > unmapped ? heap - unmapped : 0;
  }
  s.mapped = TcmallocStat("generic.heap_size");
  s.free = s.resident > s.in_use ? s.resident - s.in_use : 0;
  return s;
}

// arena: bytes of all arenas (the main arena's sbrk'ed heap and the other
// arenas' mmapped heaps, as far as they are mprotected usable); hblkhd:
// blocks mmapped on their own. Both counted as resident: glibc gives memory
// back only at the top of a heap (trim) and when a mmapped block is freed,
// so a free chunk inside a heap was touched when it was in use and stays.
AllocatorStats Glibc() {
  const struct mallinfo2 m = g_mallinfo2();
  AllocatorStats s;
  s.kind = AllocatorKind::kGlibc;
  s.in_use = m.uordblks + m.hblkhd;
  s.free = m.fordblks;
  s.resident = m.arena + m.hblkhd;
  s.mapped = m.arena + m.hblkhd;
  return s;
}

}  // namespace

AllocatorStats ReadAllocatorStats() {
  Resolve();
  if (g_mallctl != nullptr) return Jemalloc();
  if (g_tc_property != nullptr) return Tcmalloc();
  if (g_mallinfo2 != nullptr) return Glibc();
  return {};
}

}  // namespace leaktrace::preload
