// An allocator's own API beside malloc: jemalloc's mallocx family, tcmalloc's
// tc_* functions. They are valid on malloc's blocks and malloc's functions on
// theirs, so they must know leaktrace's block headers. leaktrace does not
// export these names (a program probing for jemalloc with a weak reference or
// dlsym must keep seeing the truth). Instead, when the allocator that serves
// malloc defines them, every loaded module's imports of them are pointed at
// wrappers (GOT rewrite), at start-up and again whenever the set of loaded
// modules changed (checked on dlopen, dlclose and dlsym), and dlsym hands out
// the wrappers in place of the allocator's functions.
#pragma once

#include <cstddef>

extern "C" {
// Non-zero once some native function is wrapped; read by the dlopen and
// dlsym entries (dlopen_entry.S, dlsym_entry.S).
extern unsigned char leaktrace_native_active;
// The real dlsym, resolved on the first call of the dlsym entry.
extern void* (*leaktrace_real_dlsym)(void*, const char*);
// Called by dlsym_entry.S when the dlsym entry cannot simply jump to the real
// dlsym: returns what dlsym must return instead, or nullptr to let the real
// dlsym answer for the caller.
void* leaktrace_dlsym_hook(void* handle, const char* name);
}

namespace leaktrace::preload {

// A function of the allocator's own API that leaktrace wraps.
struct NativeFunction {
  const char* name;
  void* wrapper;  // leaktrace's replacement
  void** real;    // where the allocator's definition is stored for the wrapper
  bool required;  // the family is wrapped only when all required ones exist
};

struct NativeFamily {
  const char* label;
  NativeFunction* functions;
  size_t count;
};

// native_jemalloc.cc, native_tcmalloc.cc.
NativeFamily JemallocFamily();
NativeFamily TcmallocFamily();

// Finds the native functions of the allocator behind malloc and rewrites the
// imports of every module loaded so far. Constructor; the thread busy.
void StartNativeApi();

// Rewrites the imports of modules loaded since the last call (no-op when
// nothing is wrapped or nothing changed). Not for the malloc path; the
// thread busy.
void NativeApiAfterLoad();

}  // namespace leaktrace::preload
