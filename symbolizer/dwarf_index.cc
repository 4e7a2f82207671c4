#include "symbolizer/dwarf_index.h"

#include <dwarf.h>

#include <algorithm>

namespace leaktrace::symbolizer {
namespace {

// Namespaces and classes nest a few levels deep; the cap guards the recursion
// against corrupt DWARF.
constexpr int kMaxDepth = 64;

bool HasLinkageName(Dwarf_Die* die) {
  return dwarf_hasattr(die, DW_AT_linkage_name) || dwarf_hasattr(die, DW_AT_MIPS_linkage_name);
}

// Whether the unit DIE `unit` holds the code at `addr` (a DWARF address) by
// its own DW_AT_ranges or low_pc..high_pc. A unit that records neither has
// nothing to check an arange against, and one whose ranges libdw cannot read
// no better: both are taken at their arange's word, as before.
bool UnitCovers(Dwarf_Die* unit, Dwarf_Addr addr) {
  if (!dwarf_hasattr(unit, DW_AT_ranges) && !dwarf_hasattr(unit, DW_AT_high_pc)) return true;
  return dwarf_haspc(unit, addr) != 0;
}

}  // namespace

UnitIndex::UnitIndex(Dwarf_Die* unit) {
  std::string prefix;
  Walk(unit, &prefix, 0);
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.start < b.start; });
}

void UnitIndex::Walk(Dwarf_Die* parent, std::string* prefix, int depth) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return;
  do {
    switch (dwarf_tag(&child)) {
      case DW_TAG_subprogram:
        AddRanges(&child);
        if (!prefix->empty() && !HasLinkageName(&child)) prefixes_[child.addr] = *prefix;
        break;
      case DW_TAG_namespace:
      case DW_TAG_class_type:
      case DW_TAG_structure_type:
      case DW_TAG_union_type: {
        if (depth >= kMaxDepth || !dwarf_haschildren(&child)) break;
        const char* name = dwarf_diename(&child);
        size_t old_size = prefix->size();
        if (name != nullptr)
          prefix->append(name);
        else
          prefix->append(dwarf_tag(&child) == DW_TAG_namespace ? "(anonymous namespace)"
                                                              : "{unnamed type}");
        prefix->append("::");
        Walk(&child, prefix, depth + 1);
        prefix->resize(old_size);
        break;
      }
      default:
        break;  // types, variables, imported units: no code of their own
    }
    Dwarf_Die next;
    if (dwarf_siblingof(&child, &next) != 0) break;
    child = next;
  } while (true);
}

void UnitIndex::AddRanges(Dwarf_Die* subprogram) {
  // dwarf_ranges covers low_pc/high_pc and DW_AT_ranges (functions split into
  // hot and cold parts). Declarations have neither and add nothing.
  Dwarf_Addr base = 0, start = 0, end = 0;
  ptrdiff_t offset = 0;
  while ((offset = dwarf_ranges(subprogram, offset, &base, &start, &end)) > 0)
    if (start < end) ranges_.push_back({start, end, *subprogram});
}

const Dwarf_Die* UnitIndex::FunctionAt(Dwarf_Addr addr) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                             [](Dwarf_Addr a, const Range& r) { return a < r.start; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  return addr < it->end ? &it->die : nullptr;
}

std::string UnitIndex::PrefixOf(const Dwarf_Die& decl) const {
  auto it = prefixes_.find(decl.addr);
  return it == prefixes_.end() ? std::string() : it->second;
}

DwarfIndex::DwarfIndex() = default;
DwarfIndex::~DwarfIndex() = default;

bool DwarfIndex::UnitAt(Dwfl_Module* mod, Dwarf_Addr addr, Dwarf_Die* unit, Dwarf_Addr* bias) {
  // libdwfl answers with the unit of the last arange that starts at or below
  // addr, without checking where that arange ends. When some units have no
  // aranges (Go's in an externally linked cgo binary, clang's beside gcc's),
  // their code lies past the end of another unit's arange and would be read
  // with that unit's line table: its nearest row, another file's line. So the
  // unit must cover addr by its own ranges; if not, the units' ranges decide.
  if (Dwarf_Die* found = dwfl_module_addrdie(mod, addr, bias);
      found != nullptr && UnitCovers(found, addr - *bias)) {
    *unit = *found;
    return true;
  }
  if (!unit_ranges_built_) BuildUnitRanges(mod);
  if (addr < unit_bias_) return false;
  Dwarf_Addr a = addr - unit_bias_;
  auto it = std::upper_bound(unit_ranges_.begin(), unit_ranges_.end(), a,
                             [](Dwarf_Addr v, const UnitRange& r) { return v < r.start; });
  // Unit ranges may nest or overlap (a unit's low_pc..high_pc can span
  // another's code); look back over the few candidates that start below.
  for (int tries = 0; it != unit_ranges_.begin() && tries < 16; ++tries) {
    --it;
    if (a < it->end) {
      *unit = it->unit;
      *bias = unit_bias_;
      return true;
    }
  }
  return false;
}

void DwarfIndex::BuildUnitRanges(Dwfl_Module* mod) {
  unit_ranges_built_ = true;
  Dwarf_Addr bias = 0;
  Dwarf_Die* unit = nullptr;
  while ((unit = dwfl_module_nextcu(mod, unit, &bias)) != nullptr) {
    unit_bias_ = bias;  // one Dwarf per module: the same for every unit
    Dwarf_Addr base = 0, start = 0, end = 0;
    ptrdiff_t offset = 0;
    while ((offset = dwarf_ranges(unit, offset, &base, &start, &end)) > 0)
      if (start < end) unit_ranges_.push_back({start, end, *unit});
  }
  std::sort(unit_ranges_.begin(), unit_ranges_.end(),
            [](const UnitRange& a, const UnitRange& b) { return a.start < b.start; });
}

const UnitIndex* DwarfIndex::UnitOf(Dwarf_Die* die) {
  Dwarf_Die unit;
  if (dwarf_diecu(die, &unit, nullptr, nullptr) == nullptr) return nullptr;
  auto it = units_.find(unit.addr);
  if (it == units_.end()) it = units_.emplace(unit.addr, std::make_unique<UnitIndex>(&unit)).first;
  return it->second.get();
}

}  // namespace leaktrace::symbolizer
