// Which functions malloc, free, calloc and realloc run: one table, chosen
// for the library's mode (sampled, exact, or start-up and inert) before the
// mode is published. The exported entries (malloc_entry.S) are one indirect
// jump each through it, so no call tests the mode: that test was a third of
// the default mode's cost over a do-nothing interposer (bench/RESULTS.md,
// "the floor").
//
// The table starts on the start-up functions (each initialises the library
// on its first call) and changes only in SelectMallocHooks.
#pragma once

#include <cstddef>

#include "preload/internal/compiler.h"
#include "preload/internal/mode.h"

namespace leaktrace::preload {

struct MallocHooks {
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
};

// Points the table at `mode`'s functions. Call it before storing g_mode
// (startup.cc, attach.cc), so a thread that sees the new mode also runs its
// functions; each pointer is stored whole (a thread still on the old one
// finishes its call there, which every mode's functions allow).
void SelectMallocHooks(Mode mode);

}  // namespace leaktrace::preload

// The table, read by malloc_entry.S (hence unmangled); offsets fixed there.
extern "C" LT_HIDDEN leaktrace::preload::MallocHooks leaktrace_malloc_hooks;
static_assert(offsetof(leaktrace::preload::MallocHooks, free) == 8 &&
              offsetof(leaktrace::preload::MallocHooks, calloc) == 16 &&
              offsetof(leaktrace::preload::MallocHooks, realloc) == 24);
