#include "symbolizer/dwarf_names.h"

#include <dwarf.h>

#include "symbolizer/demangle.h"

namespace leaktrace::symbolizer {
namespace {

// Abstract-origin and specification chains are short (inlined instance ->
// abstract definition -> in-class declaration); the cap guards against cycles
// in corrupt DWARF.
constexpr int kMaxHops = 8;

// The DIE that declares `die`: where it sits tells its namespace and class.
Dwarf_Die Declaration(Dwarf_Die* die) {
  Dwarf_Die decl = *die;
  for (int hop = 0; hop < kMaxHops; ++hop) {
    Dwarf_Attribute attr;
    Dwarf_Die next;
    Dwarf_Attribute* ref = dwarf_attr(&decl, DW_AT_abstract_origin, &attr);
    if (ref == nullptr) ref = dwarf_attr(&decl, DW_AT_specification, &attr);
    if (ref == nullptr || dwarf_formref_die(ref, &next) == nullptr) break;
    decl = next;
  }
  return decl;
}

std::string ComputeName(Dwarf_Die* die, DwarfIndex& index) {
  Dwarf_Attribute attr;
  // dwarf_attr_integrate follows DW_AT_abstract_origin (inlined and
  // out-of-line instances) and DW_AT_specification (members defined outside
  // their class) to the DIE that carries the attribute.
  for (unsigned int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (const char* s = dwarf_formstring(dwarf_attr_integrate(die, at, &attr)))
      return Demangle(s);
  }
  const char* name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
  if (name == nullptr) return {};
  Dwarf_Die decl = Declaration(die);
  const UnitIndex* unit = index.UnitOf(&decl);
  return (unit != nullptr ? unit->PrefixOf(decl) : std::string()) + name;
}

}  // namespace

const std::string& FunctionName(Dwarf_Die* die, DwarfIndex& index) {
  auto& names = index.names();
  auto it = names.find(die->addr);
  if (it != names.end()) return it->second;
  std::string name = ComputeName(die, index);
  return names.emplace(die->addr, std::move(name)).first->second;
}

}  // namespace leaktrace::symbolizer
