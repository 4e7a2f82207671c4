#include "preload/interpose/quiet_dlsym.h"

#include <dlfcn.h>
#include <link.h>

#include "preload/internal/elf_symbols.h"

extern "C" const char __ehdr_start[] __attribute__((visibility("hidden")));

namespace leaktrace::preload {
namespace {

// Whether a module of the loader's list from `first` on may define `name`
// (found, or only the loader can say), this library's own left out.
bool SomeModuleMayDefine(const link_map* first, const char* name) {
  for (const link_map* lm = first; lm != nullptr; lm = lm->l_next) {
    if (lm->l_addr == reinterpret_cast<ElfW(Addr)>(__ehdr_start)) continue;
    void* address = nullptr;
    if (FindFunctionIn(lm, name, &address) != SymbolLookup::kAbsent) return true;
  }
  return false;
}

}  // namespace

void* QuietDlsym(void* handle, const char* name) {
  if ((handle == RTLD_NEXT || handle == RTLD_DEFAULT) && _r_debug.r_map != nullptr) {
    const link_map* first = _r_debug.r_map;
    if (handle == RTLD_NEXT) {
      // The modules after this one, in load order (the global scope's for
      // the modules loaded with the program).
      while (first != nullptr && first->l_addr != reinterpret_cast<ElfW(Addr)>(__ehdr_start)) first = first->l_next;
      first = first != nullptr ? first->l_next : _r_debug.r_map;
    }
    if (!SomeModuleMayDefine(first, name)) return nullptr;
  }
  return dlsym(handle, name);
}

}  // namespace leaktrace::preload
