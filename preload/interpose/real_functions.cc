#include "preload/interpose/real_functions.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "preload/internal/compiler.h"
#include "preload/internal/elf_symbols.h"
#include "preload/interpose/next_symbol.h"
#include "preload/record/thread_state.h"
#include "preload/interpose/quiet_dlsym.h"

// The next vfork and clone after ours (glibc's, or an interposer's such as a
// sanitizer's), for interpose/vfork_entry.S; null until resolved, when the
// entry falls back to glibc's __vfork / __clone. The next syscall, for
// interpose/syscall_entry.S, which makes the call itself until then.
extern "C" {
__attribute__((visibility("hidden"))) void* leaktrace_real_vfork = nullptr;
__attribute__((visibility("hidden"))) void* leaktrace_real_clone = nullptr;
__attribute__((visibility("hidden"))) void* leaktrace_real_syscall = nullptr;
}

namespace leaktrace::preload {

RealFunctions real = {};
void* g_real_scope = RTLD_NEXT;

namespace detail {
std::atomic<int> g_real_state{0};  // 0 not yet, 2 done
}  // namespace detail

namespace {

__thread bool t_resolving LT_INITIAL_EXEC = false;

// glibc's malloc debugging (MALLOC_CHECK_, mtrace, mcheck; since 2.34 in
// libc_malloc_debug.so, preloaded) defines the malloc family at libc's own
// versions, none of them the default (malloc@GLIBC_2.2.5): the program's
// versioned references bind to it, while a lookup by name alone (the
// modules' tables, dlsym) passes it over for libc's, and under leaktrace
// an overflow MALLOC_CHECK_=3 aborts on went unseen. When it is loaded
// after this library, the family is looked up at those versions.
bool MallocDebugAfterUs() {
  bool after_us = false;
  for (const link_map* lm = _r_debug.r_map; lm != nullptr; lm = lm->l_next) {
    const char* base = ModuleBaseName(lm);
    if (strncmp(base, "libleaktrace", 12) == 0) after_us = true;
    else if (after_us && strncmp(base, "libc_malloc_debug.so", 20) == 0) return true;
  }
  return false;
}

void LookUpMallocFamilyAtLibcVersions() {
  struct Versioned {
    void** slot;
    const char* name;
    const char* version;
  };
  const Versioned family[] = {
      {reinterpret_cast<void**>(&real.malloc), "malloc", "GLIBC_2.2.5"},
      {reinterpret_cast<void**>(&real.free), "free", "GLIBC_2.2.5"},
      {reinterpret_cast<void**>(&real.calloc), "calloc", "GLIBC_2.2.5"},
      {reinterpret_cast<void**>(&real.realloc), "realloc", "GLIBC_2.2.5"},
      {reinterpret_cast<void**>(&real.memalign), "memalign", "GLIBC_2.2.5"},
      {reinterpret_cast<void**>(&real.aligned_alloc), "aligned_alloc", "GLIBC_2.16"},
      {reinterpret_cast<void**>(&real.malloc_usable_size), "malloc_usable_size", "GLIBC_2.2.5"},
  };
  for (const Versioned& f : family)
    if (void* found = dlvsym(RTLD_NEXT, f.name, f.version); found != nullptr)
      __atomic_store_n(f.slot, found, __ATOMIC_RELAXED);
}

}  // namespace

void detail::ResolveRealSlow() {
  if (t_resolving) return;  // re-entered from dlsym: callers fall back
  t_resolving = true;
  {
    BusyScope busy;  // dlsym may allocate: those go through untracked
    // Preloaded, the modules' own tables answer most lookups (next_symbol.h:
    // dlsym costs about 50 us of every process start for these); attached
    // (RTLD_DEFAULT), dlsym answers all.
    NextSymbols next;  // 2.5 KiB of stack, once: in .bss it cost a page fault
    const bool direct = g_real_scope == RTLD_NEXT && next.Open();
    auto lookup = [&](const char* symbol) {
      void* found = direct ? next.Find(symbol) : nullptr;
      if (found != nullptr) return found;
      return g_real_scope == RTLD_DEFAULT ? DefaultDefinition(symbol) : QuietDlsym(g_real_scope, symbol);
    };
    // One word at a time: a second thread resolving at the same moment
    // stores the same values into words other threads may be reading.
#define LEAKTRACE_REAL_LOOKUP(member, symbol, ...) \
  __atomic_store_n(&real.member, reinterpret_cast<__VA_ARGS__>(lookup(symbol)), __ATOMIC_RELAXED);
    LEAKTRACE_REAL_FUNCTIONS(LEAKTRACE_REAL_LOOKUP)
#undef LEAKTRACE_REAL_LOOKUP
    if (g_real_scope == RTLD_NEXT && MallocDebugAfterUs()) LookUpMallocFamilyAtLibcVersions();
    __atomic_store_n(&leaktrace_real_vfork, lookup("vfork"), __ATOMIC_RELEASE);
    __atomic_store_n(&leaktrace_real_clone, lookup("clone"), __ATOMIC_RELEASE);
    __atomic_store_n(&leaktrace_real_syscall, lookup("syscall"), __ATOMIC_RELEASE);
  }
  t_resolving = false;
  g_real_state.store(2, std::memory_order_release);
}

bool RealUsableSizeIsTheAllocators() {
  static std::atomic<int> known{0};  // 0 not yet, 1 yes, 2 no
  int state = known.load(std::memory_order_relaxed);
  if (LT_UNLIKELY(state == 0)) {
    dl_find_object malloc_module, usable_module;
    const bool same =
        real.malloc != nullptr && real.malloc_usable_size != nullptr &&
        _dl_find_object(reinterpret_cast<void*>(real.malloc), &malloc_module) == 0 &&
        _dl_find_object(reinterpret_cast<void*>(real.malloc_usable_size), &usable_module) == 0 &&
        malloc_module.dlfo_map_start == usable_module.dlfo_map_start;
    // Another module's (glibc's, behind a pass-through counter that has
    // none): trusted when it measures that allocator's blocks as a
    // malloc_usable_size would, a little above the size asked for. On
    // libmemusage's blocks (its header in front) glibc's read 4 GB. The
    // probes are past glibc's thread cache (1,032 bytes): a block freed
    // into it would stay where it was made, in the middle of the program's
    // heap, which glibc then could not trim below it.
    bool measures = same;
    if (!same && real.malloc != nullptr && real.malloc_usable_size != nullptr && real.free != nullptr) {
      BusyScope busy;  // the probes are leaktrace's
      measures = true;
      for (const size_t size : {size_t{2000}, size_t{5000}}) {
        void* probe = real.malloc(size);
        if (probe == nullptr) {
          measures = false;
          break;
        }
        const size_t usable = real.malloc_usable_size(probe);
        real.free(probe);
        measures = measures && usable >= size && usable <= size + 64;
      }
    }
    state = measures ? 1 : 2;
    known.store(state, std::memory_order_relaxed);
  }
  return state == 1;
}

bool RealAllocatorFound() {
  return real.malloc != nullptr && real.free != nullptr && real.calloc != nullptr && real.realloc != nullptr &&
         real.memalign != nullptr && real.malloc_usable_size != nullptr;
}

}  // namespace leaktrace::preload
