// Rewriting a loaded module's import slots (its GOT, and pointers to imported
// functions in its data). Two users: libraries opened with RTLD_DEEPBIND,
// whose imports of the hooked functions must point back at leaktrace
// (deepbind.cc), and the allocator's own API (mallocx, tc_malloc, ...), whose
// imports must point at leaktrace's wrappers (native_api.cc).
#pragma once

#include <link.h>
#include <stdint.h>

namespace leaktrace::preload {

// One import slot of a module, as the rewriter offers it to a Resolver.
struct ImportSlot {
  const char* name;      // the imported symbol
  bool data;             // false: GOT entry the loader binds (JUMP_SLOT, GLOB_DAT);
                         // true: a pointer in the module's data (R_X86_64_64, no addend)
  bool defined;          // the module defines the symbol itself (libc's own calls to malloc)
  bool lazy_unbound;     // an undefined JUMP_SLOT still pointing into its own module (lazy binding)
  void* current;         // what the slot holds now
};

// Returns the value the slot must hold from now on, or nullptr to leave it.
using ImportResolver = void* (*)(const ImportSlot& slot, void* ctx);

struct LoadedModule {
  uintptr_t base = 0;                  // l_addr / dlpi_addr
  const ElfW(Dyn)* dynamic = nullptr;  // its dynamic section
  uintptr_t relro_begin = 0, relro_end = 0;  // the pages of PT_GNU_RELRO the loader made read-only
  uintptr_t image_begin = 0, image_end = 0;  // span of its PT_LOAD segments
};

// Fills `m` from a dl_iterate_phdr record. Returns false when the module has
// no dynamic section (nothing to rewrite).
bool DescribeModule(const dl_phdr_info& info, LoadedModule& m);

// Fills `m` for the loaded module whose segments hold `addr` (m.dynamic is
// nullptr for one without a dynamic section). False when no module does.
// One dl_iterate_phdr (the loader's lock): not for the malloc path, nor
// from inside a dl_iterate_phdr callback.
bool FindLoadedModule(const void* addr, LoadedModule& m);

// Offers every function import of `m` to `resolve` and writes what it
// returns; pages of the RELRO segment are opened for the write and made
// read-only again. Slots of symbols the module defines itself are offered
// only with `include_defined` (an interposing library would have taken them:
// libc's own calls to malloc go through such slots). Returns the number of
// slots rewritten. Serialised by a
// process-wide lock (two rewriters toggling one RELRO segment's protection
// would fault); not for the malloc path. Must not be called from inside a
// dl_iterate_phdr callback.
int RewriteImports(const LoadedModule& m, ImportResolver resolve, void* ctx, bool include_defined = false);

// fork handlers: the lock above is never left held in the child.
void GotRewritePrepareFork();
void GotRewriteParentAfterFork();
void GotRewriteChildAfterFork();

}  // namespace leaktrace::preload
