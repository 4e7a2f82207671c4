// Per-unit lookup tables over a module's DWARF, built once per unit.
//
// Why: libdw's dwarf_getscopes() scans a unit's top-level DIEs for every
// address, and dwarf_getscopes_die() walks the whole unit, so a big C++ unit
// (tens of thousands of DIEs) costs milliseconds per lookup. Indexing each
// unit on first use makes a lookup a binary search plus a short descent.
#pragma once

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace leaktrace::symbolizer {

// One compile (or partial) unit. Built by walking the unit once: its
// subprograms at any namespace/class depth (GCC puts definitions at the top
// level, clang inside their namespace), and the enclosing-scope prefix of
// every function declaration that has no linkage name.
class UnitIndex {
 public:
  explicit UnitIndex(Dwarf_Die* unit);

  // The subprogram DIE whose code ranges hold `addr` (a DWARF address, i.e.
  // after the Dwfl bias), or nullptr.
  const Dwarf_Die* FunctionAt(Dwarf_Addr addr) const;

  // "ns::Class::" for a function declaration DIE of this unit nested in
  // namespace ns, class Class; "" for one at file scope.
  std::string PrefixOf(const Dwarf_Die& decl) const;

 private:
  struct Range {
    Dwarf_Addr start;
    Dwarf_Addr end;  // exclusive
    Dwarf_Die die;
  };
  void Walk(Dwarf_Die* parent, std::string* prefix, int depth);
  void AddRanges(Dwarf_Die* subprogram);

  std::vector<Range> ranges_;  // sorted by start
  // Keyed by Dwarf_Die::addr: unique across the main and the dwz alt file,
  // unlike DIE offsets.
  absl::flat_hash_map<const void*, std::string> prefixes_;
};

// All units of one module's DWARF, indexed lazily; plus a cache of function
// names per DIE. Not thread-safe. Must not outlive the Dwfl it reads from.
class DwarfIndex {
 public:
  DwarfIndex();
  ~DwarfIndex();

  // The compile unit holding the code at `addr` (an address in `mod`'s Dwfl
  // address space) in *unit, and the bias from Dwfl to DWARF addresses in
  // *bias. False when no unit covers `addr` or `mod` has no DWARF.
  //
  // .debug_aranges first (what libdwfl uses), the unit it names kept only if
  // its own ranges hold `addr`; otherwise the units' own DW_AT_ranges /
  // low_pc..high_pc: clang, and older elfutils, leave .debug_aranges out, and
  // libdwfl 0.188 then finds nothing; Go leaves its units out of it in a cgo
  // binary, and libdwfl then names a C unit below the address.
  bool UnitAt(Dwfl_Module* mod, Dwarf_Addr addr, Dwarf_Die* unit, Dwarf_Addr* bias);

  // The index of the unit `die` belongs to (built on first use), or nullptr
  // when libdw cannot tell the unit.
  const UnitIndex* UnitOf(Dwarf_Die* die);

  // Function names by function DIE (Dwarf_Die::addr), filled by FunctionName.
  absl::flat_hash_map<const void*, std::string>& names() { return names_; }

 private:
  struct UnitRange {
    Dwarf_Addr start;
    Dwarf_Addr end;  // exclusive
    Dwarf_Die unit;
  };
  void BuildUnitRanges(Dwfl_Module* mod);

  bool unit_ranges_built_ = false;
  Dwarf_Addr unit_bias_ = 0;
  std::vector<UnitRange> unit_ranges_;  // sorted by start; built on the first miss of the aranges
  absl::flat_hash_map<const void*, std::unique_ptr<UnitIndex>> units_;
  absl::flat_hash_map<const void*, std::string> names_;
};

}  // namespace leaktrace::symbolizer
