#include "preload/interpose/allocator_self_calls.h"

#include <link.h>
#include <string.h>

#include "preload/internal/elf_symbols.h"
#include "preload/internal/fork_gate.h"
#include "preload/interpose/got_rewrite.h"
#include "preload/interpose/real_functions.h"

namespace leaktrace::preload {
namespace {

// The allocator's functions that libleaktrace.so hooks (exports.map).
constexpr const char* kMallocFamily[] = {"malloc",         "free",   "calloc", "realloc",
                                         "reallocarray",   "memalign", "aligned_alloc", "posix_memalign",
                                         "valloc",         "pvalloc", "malloc_usable_size"};

bool InMallocFamily(const char* name) {
  for (const char* f : kMallocFamily)
    if (strcmp(f, name) == 0) return true;
  return false;
}

// A slot of the allocator's own function gets its own definition.
void* OwnDefinition(const ImportSlot& slot, void* module) {
  if (slot.data || !slot.defined || !InMallocFamily(slot.name)) return nullptr;
  return FunctionDefinedIn(static_cast<const link_map*>(module), slot.name);
}

}  // namespace

void BindAllocatorToItself() {
  if (real.malloc == nullptr) return;
  ForkGateScope gate;  // dl_iterate_phdr: the loader's lock must not be held across fork
  LoadedModule allocator;
  if (!FindLoadedModule(reinterpret_cast<const void*>(real.malloc), allocator) || allocator.dynamic == nullptr) return;
  for (const link_map* lm = _r_debug.r_map; lm != nullptr; lm = lm->l_next) {
    if (lm->l_addr != allocator.base || lm->l_name == nullptr || lm->l_name[0] == '\0') continue;
    const char* name = ModuleBaseName(lm);
    if (strncmp(name, "libc.so", 7) == 0 || strncmp(name, "libleaktrace", 12) == 0) return;
    RewriteImports(allocator, OwnDefinition, const_cast<link_map*>(lm), /*include_defined=*/true);
    return;
  }
}

}  // namespace leaktrace::preload
