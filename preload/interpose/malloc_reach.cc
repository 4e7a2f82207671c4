#include "preload/interpose/malloc_reach.h"

#include <dlfcn.h>
#include <string.h>

#include "preload/internal/health.h"
#include "preload/interpose/next_symbol.h"
#include "preload/internal/log.h"
#include "preload/internal/mode.h"
#include "preload/record/thread_state.h"
#include "preload/internal/libc_functions.h"
#include "preload/interpose/quiet_dlsym.h"

namespace leaktrace::preload {

// This library's first byte (the linker defines it).
extern "C" const char __ehdr_start[] __attribute__((visibility("hidden")));

namespace {

using MallocFn = void* (*)(size_t);
using FreeFn = void (*)(void*);

// Whether a malloc and free through these pointers went through the hooks,
// told by what a call through them does to this thread's state: read,
// never the memory around the block (a foreign allocator's neighbour may be
// unmapped). True when it cannot be told: only a sure "no" is said aloud.
//
// Sampled mode: the sampler's countdown (SamplerState). A thread's first
// call through the hooks draws it (`drawn`); once drawn, malloc(1) counts
// it down by exactly one while it is above zero (TryRecord). Anything else
// the call does (a sample: a new random draw) could by chance leave the
// countdown where it was, which a plain before/after test took for a call
// that never came: 1 process in ~40 at LEAKTRACE_SAMPLE=64, and python3
// starts dozens.
bool SampledMallocMovesTheThread(MallocFn global_malloc, FreeFn global_free) {
  ThreadState& t = t_state;
  if (t.busy != 0) return true;  // the hooks would pass the call through untouched
  for (int attempt = 0; attempt < 4; ++attempt) {
    const bool drawn = t.sampler.drawn;
    const uint64_t before = t.sampler.gap;
    global_free(global_malloc(1));
    if (!drawn) {
      if (!t.sampler.drawn) return false;  // only the hooks draw
      continue;                            // drawn now: count it down next
    }
    if (before >= 1) return t.sampler.gap != before;
    // A countdown at zero: that call was a sample, the next one can tell.
  }
  return true;
}

// Exact mode: the bytes the thread books and has not yet added to the
// process's total (heap_peak.h), which a malloc through the hooks raises.
bool ExactMallocMovesTheThread(MallocFn global_malloc, FreeFn global_free) {
  ThreadState& t = t_state;
  if (t.busy != 0) return true;
  const int64_t before = t.heap_pending;
  void* p = global_malloc(24);
  const int64_t after = t.heap_pending;
  global_free(p);
  return p == nullptr || after != before;
}

void Note(HeapNotTracked why) { g_health.heap_not_tracked.store(static_cast<uint64_t>(why), std::memory_order_relaxed); }

}  // namespace

void SayIfMallocDoesNotReachTheHooks() {
  auto* global_malloc = reinterpret_cast<void* (*)(size_t)>(QuietDlsym(RTLD_DEFAULT, "malloc"));
  auto* global_free = reinterpret_cast<void (*)(void*)>(QuietDlsym(RTLD_DEFAULT, "free"));
  if (global_malloc == nullptr || global_free == nullptr) return;
  // Past an executable's canonical PLT entry (Debian's python3 and node):
  // that stub is the program's, the malloc it calls another's, which an
  // allocator ahead of this library in LD_PRELOAD would be. Looked for only
  // in the program (a walk of the loaded objects' symbols).
  if (InMainProgram(reinterpret_cast<void*>(global_malloc))) {
    global_malloc = reinterpret_cast<void* (*)(size_t)>(BoundDefinition("malloc"));
    global_free = reinterpret_cast<void (*)(void*)>(BoundDefinition("free"));
    if (global_malloc == nullptr || global_free == nullptr) return;
  }
  Dl_info info;
  const bool known = LibcDladdr(reinterpret_cast<void*>(global_malloc), &info) != 0;
  const bool ours = known && info.dli_fbase == static_cast<const void*>(__ehdr_start);
  // The program's malloc is this library's (the usual case): only a tool
  // that redirects calls (valgrind) can still take them, which the block
  // below shows in sampled mode; in exact mode that block would be a stack
  // capture of its own in every process's start (some 100 us), so it is
  // not made there.
  if (ours && CurrentMode() == Mode::kExact) return;
  const bool reached = CurrentMode() == Mode::kExact ? ExactMallocMovesTheThread(global_malloc, global_free)
                                                     : SampledMallocMovesTheThread(global_malloc, global_free);
  if (reached) return;
  if (ours) {
    // The program's malloc is this library's, yet the call went elsewhere:
    // a tool redirects it (valgrind replaces malloc under every name).
    Note(HeapNotTracked::kRedirected);
    Log("malloc calls do not reach libleaktrace.so (a tool such as valgrind replaces malloc): the heap is not "
        "tracked (dumps show 0 B of heap)");
    return;
  }
  const char* name = known && info.dli_fname ? info.dli_fname : "";
  const char* base = strrchr(name, '/');
  if (InMainProgram(reinterpret_cast<void*>(global_malloc))) {
    Note(HeapNotTracked::kProgramsOwn);
    if (!g_config.verbose) return;
    Log("malloc is the program's own (%s defines it): the heap is not tracked (dumps show 0 B of heap); descriptors, "
        "mappings and threads are",
        base ? base + 1 : (*name ? name : "the executable"));
    return;
  }
  Note(HeapNotTracked::kAllocatorAhead);
  Log("malloc is %s's, loaded ahead of libleaktrace.so in LD_PRELOAD: the heap is not tracked (dumps show 0 B of "
      "heap); list libleaktrace.so first (leaktrace run does)",
      base ? base + 1 : (*name ? name : "the program"));
}

}  // namespace leaktrace::preload
