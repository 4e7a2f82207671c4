// The library's mode and settings, decided once by the first hook of the
// process (EnsureInitialized, interpose/startup.cc) and read everywhere.
#pragma once

#include <atomic>
#include <cstdint>

#include "preload/internal/compiler.h"
#include "preload/internal/config.h"

namespace leaktrace::preload {

enum class Mode : uint8_t {
  kUninitialized = 0,
  kSampled = 1,  // the hot paths test for exactly this value
  kExact = 2,
  kInert = 3,    // settings invalid or leaktrace disabled: pass everything through
};

// Written once by EnsureInitialized() (release) while other threads may
// already be in the hooks; read with CurrentMode() (acquire: a plain load on
// x86-64, and a thread that sees kSampled also sees `real` and g_config
// filled in).
extern LT_HIDDEN std::atomic<Mode> g_mode;
LT_ALWAYS_INLINE Mode CurrentMode() { return g_mode.load(std::memory_order_acquire); }
extern LT_HIDDEN Config g_config;

// leaktrace attach (interpose/attach.cc): set before initialisation when the
// library was loaded into a running process. Initialisation then reads
// g_attach_settings instead of the environment, records the mode it would
// run in in g_attach_mode (exact is refused: kInert), and leaves g_mode at
// kInert (pass-through) until the attach has rewritten every module's
// imports; the real functions are looked up in the global scope
// (g_real_scope, interpose/real_functions.h).
extern LT_HIDDEN bool g_attached;
extern LT_HIDDEN const char* g_attach_settings;
extern LT_HIDDEN Mode g_attach_mode;

// Sets the mode: first the malloc family's functions for it
// (interpose/malloc_dispatch.h), then g_mode (release). The only writer of
// g_mode.
void PublishMode(Mode mode);

// Resolves the real functions and reads the settings. Called from the first
// hook of the process (on any thread); other threads wait until it is done.
// Afterwards g_mode is never kUninitialized, except before leaktrace's
// constructor where starting is not yet safe (startup.cc, TooEarlyToStart):
// the hooks then pass the call on untracked, and the allocation hooks serve
// it from the bootstrap heap; `even_early` starts it anyway (that heap is
// full).
void EnsureInitialized(bool even_early = false);

// leaktrace's constructor, before it starts the library: from here on
// starting is safe (libc has set the environment; every library loaded
// with the program has run its constructors).
void NoteConstructorReached();

}  // namespace leaktrace::preload
