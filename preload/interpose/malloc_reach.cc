#include "preload/interpose/malloc_reach.h"

#include <dlfcn.h>
#include <string.h>

#include "preload/internal/log.h"
#include "preload/internal/mode.h"
#include "preload/record/thread_state.h"

namespace leaktrace::preload {

// This library's first byte (the linker defines it).
extern "C" const char __ehdr_start[] __attribute__((visibility("hidden")));

void SayIfMallocDoesNotReachTheHooks() {
  auto* global_malloc = reinterpret_cast<void* (*)(size_t)>(dlsym(RTLD_DEFAULT, "malloc"));
  auto* global_free = reinterpret_cast<void (*)(void*)>(dlsym(RTLD_DEFAULT, "free"));
  if (global_malloc == nullptr || global_free == nullptr) return;
  Dl_info info;
  const bool known = dladdr(reinterpret_cast<void*>(global_malloc), &info) != 0;
  const bool ours = known && info.dli_fbase == static_cast<const void*>(__ehdr_start);
  // The program's malloc is this library's (the usual case): only a tool
  // that redirects calls (valgrind) can still take them, which the block
  // below shows in sampled mode; in exact mode that block would be a stack
  // capture of its own in every process's start (some 100 us), so it is
  // not made there.
  if (ours && CurrentMode() == Mode::kExact) return;
  // A call through the hooks moves this thread's state: sampled mode counts
  // its bytes down (SamplerState::gap) or draws the next sample point; exact mode adds them to
  // the thread's pending heap total (heap_peak.h). Read, never the memory
  // around the block (a foreign allocator's neighbour may be unmapped).
  ThreadState& t = t_state;
  const bool exact = CurrentMode() == Mode::kExact;
  const uint64_t before = exact ? static_cast<uint64_t>(t.heap_pending) : t.sampler.gap;
  void* p = global_malloc(24);
  const uint64_t after = exact ? static_cast<uint64_t>(t.heap_pending) : t.sampler.gap;
  global_free(p);
  if (p == nullptr || after != before) return;
  if (ours) {
    // The program's malloc is this library's, yet the call went elsewhere:
    // a tool redirects it (valgrind replaces malloc under every name).
    Log("malloc calls do not reach libleaktrace.so (a tool such as valgrind replaces malloc): the heap is not "
        "tracked (dumps show 0 B of heap)");
    return;
  }
  const char* name = known && info.dli_fname ? info.dli_fname : "";
  const char* base = strrchr(name, '/');
  Log("malloc is %s's, loaded ahead of libleaktrace.so in LD_PRELOAD: the heap is not tracked (dumps show 0 B of "
      "heap); list libleaktrace.so first (leaktrace run does)",
      base ? base + 1 : (*name ? name : "the program"));
}

}  // namespace leaktrace::preload
