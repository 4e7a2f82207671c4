// A module's ELF symbol table (.symtab, else .dynsym), sorted by address
// once, for the names of addresses no DWARF describes. libdwfl's
// dwfl_module_addrinfo reads the whole table at every call: a report of an
// exact-mode dump of node (107,000 symbols, no debug information) took tens
// of seconds so.
#pragma once

#include <elfutils/libdwfl.h>

#include <cstdint>
#include <vector>

namespace leaktrace::symbolizer {

// Not thread-safe (as the module it reads). The names point into libdwfl's
// copy of the string table: valid while the module is.
class SymbolTable {
 public:
  // Reads the module's symbols and section bounds now (symbols of code and
  // data; not of sections, files or TLS, nor undefined ones).
  explicit SymbolTable(Dwfl_Module* module);

  // The name of the symbol at `addr` (a Dwfl address), or null, chosen as
  // dwfl_module_addrinfo chooses it (tests/symbolizer: the same name at
  // every address of libc, libstdc++ and a -g-less library):
  //  - of the sized symbols that hold addr, the global and weak ones first
  //    (the locals only when none holds it), taken in table order: one that
  //    starts later or binds more strongly (global, weak, local) replaces
  //    the one kept; at the same start a shorter one that binds no weaker,
  //    or one as long that binds more strongly;
  //  - else a sizeless symbol (an assembly label) at the nearest start
  //    below addr, the last in table order there, when no sized symbol
  //    below addr reaches past it and addr lies in the same section as it
  //    (both in none counts; an absolute symbol: only at its very address).
  const char* NameAt(uint64_t addr) const;

  size_t size() const { return symbols_.size(); }

 private:
  struct Symbol {
    uint64_t start;
    uint64_t size;
    const char* name;
    uint32_t index;    // in the table: its order decides between equals
    uint8_t rank;      // 0 global, 1 weak, 2 local
    bool absolute;     // in no section (SHN_ABS and the like)
  };
  struct Section {
    uint64_t start, end;
  };
  // The allocated section that holds addr (its place in sections_; its end
  // included unless the next starts there), or -1.
  long SectionOf(uint64_t addr) const;

  std::vector<Symbol> symbols_;  // by start, then rank
  // For each symbol, the largest end of the sized symbols up to it: a walk
  // back from the nearest start stops where no earlier symbol reaches addr.
  std::vector<uint64_t> reach_;
  std::vector<Section> sections_;  // allocated sections, by start
};

}  // namespace leaktrace::symbolizer
