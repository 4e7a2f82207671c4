// What dlsym(RTLD_NEXT, name) finds for this library, without dlsym.
//
// The library resolves about a hundred real functions at its start
// (real_functions.cc). Through dlsym each lookup costs about half a
// microsecond (the loader's error catching, its search for the caller's
// module, a walk of the scope), some 50 us of every process start in all.
// This reads the hash tables of the modules loaded after this library
// directly, in the order the loader searches them, and answers the common
// case; whatever it is not sure of, it leaves to dlsym.
//
// Not thread-safe: one caller, at initialisation, on the thread resolving.
// Must not allocate (it runs inside the first hook of the process).
#pragma once

#include <link.h>

#include <cstddef>
#include <cstdint>

#include "preload/internal/elf_symbols.h"

namespace leaktrace::preload {

class NextSymbols {
 public:
  // Collects the modules after this library in load order (the global
  // scope's order for the modules loaded with the program). False when it
  // cannot stand in for dlsym here (this library not found among them or
  // loaded after libc, a module without a GNU hash table, too many
  // modules): ask dlsym for all.
  bool Open();
  // The definition dlsym(RTLD_NEXT, name) would return: the first global or
  // weak function of that name in those modules, at its default version.
  // nullptr when none has it or when the answer needs the loader (an IFUNC,
  // whose resolver picks the implementation; several default versions):
  // the caller then asks dlsym.
  void* Find(const char* name) const;

 private:
  static constexpr size_t kMaxModules = 64;
  ElfSymbols modules_[kMaxModules];
  size_t count_ = 0;
};

// Runs `fn(ctx)` with the loader's list of modules held (inside a
// dl_iterate_phdr call, whose lock is recursive: NextSymbols::Open takes it
// again), so that no module Open collected is unloaded by another thread's
// dlclose before Find has read its tables (a plugin opened and closed in a
// loop: SIGSEGV in FindFunction, the dumper thread's first dump, 1 process
// in 150 under load). `fn` must not call dlsym, dlopen, dladdr or anything
// else that takes the loader's other lock (dlclose takes that one first).
void WithModulesHeld(void (*fn)(void*), void* ctx);

// dlsym(RTLD_DEFAULT, name) as the program's modules are bound to it. In a
// program built without -fPIC and not as PIE that takes a function's
// address (CPython's allocator tables: `{malloc, ...}`; node), the
// executable holds a "canonical PLT" entry for it: an undefined symbol
// with a value, its own PLT stub, which RTLD_DEFAULT answers first. The
// program's import slots are bound to the definition after it (libc's),
// and the stub jumps through one of those slots: taken for the real
// function, it would lead back into a hook once the slots are rewritten.
// So for such an answer this looks the name up in each object loaded after
// the program, in load order, in that object's own symbol table, and
// returns the first that defines it (not this library). For `leaktrace
// attach` (loaded after libc); dlsym allocates.
void* DefaultDefinition(const char* name);

// As DefaultDefinition, this library's own definition included: the
// function the program's calls of `name` are bound to, whoever defines it
// (which malloc the program calls: malloc_reach.cc). dlsym allocates.
void* BoundDefinition(const char* name);

// True when `address` lies in a loaded segment of the main program (the
// first object dl_iterate_phdr lists). Any thread; no allocation.
bool InMainProgram(const void* address);

}  // namespace leaktrace::preload
