// A loaded module's dynamic symbols, read from its own tables (its dynamic
// section's symbol table, string table and GNU hash table), as the loader
// reads them: for lookups that must not go through the loader (dlsym
// allocates, and costs half a microsecond) or through a symbol another
// library may wrap (libc_functions.h). No allocation; any thread.
#pragma once

#include <link.h>

#include <cstdint>

namespace leaktrace::preload {

struct ElfSymbols {
  uintptr_t base = 0;  // the module's load bias (l_addr, dlpi_addr)
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const uint32_t* gnu_hash = nullptr;  // nullptr: DT_HASH only
  const ElfW(Half)* versym = nullptr;  // nullptr: no versions
};

// The tables of a module loaded at `base` whose dynamic section is
// `dynamic`. False when it defines nothing (no symbol or string table).
bool ReadElfSymbols(uintptr_t base, const ElfW(Dyn)* dynamic, ElfSymbols* out);

enum class SymbolLookup {
  kFound,      // *address: a global or weak function, at its default version
  kAbsent,     // the module defines no function of that name
  kAskLoader,  // only the loader can say (an IFUNC, several default versions, no GNU hash table)
};
SymbolLookup FindFunction(const ElfSymbols& module, const char* name, void** address);

// FindFunction in a module of the loader's list (its link_map:
// _r_debug.r_map and on), itself, not its dependencies; kAbsent for a
// module without tables (or nullptr).
SymbolLookup FindFunctionIn(const link_map* module, const char* name, void** address);

// `name`, a function the module defines itself (FindFunctionIn found it);
// nullptr when it does not, or only the loader could say.
void* FunctionDefinedIn(const link_map* module, const char* name);

// The C library's module in the loader's list (libc.so.*); nullptr when
// none is there.
const link_map* LibcModule();

// The file name of a module of the loader's list, without its directory
// ("" for the main program).
const char* ModuleBaseName(const link_map* module);

}  // namespace leaktrace::preload
