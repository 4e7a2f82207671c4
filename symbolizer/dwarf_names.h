// The name of a function DIE, as a person reads it.
#pragma once

#include <elfutils/libdw.h>

#include <string>

#include "symbolizer/dwarf_index.h"

namespace leaktrace::symbolizer {

// The name of a DW_TAG_subprogram / DW_TAG_inlined_subroutine `die`:
//  - DW_AT_linkage_name demangled when there is one: it carries namespaces,
//    classes, template arguments and parameters
//    ("ns::Cache<int>::grow(unsigned long)");
//  - else DW_AT_name qualified by the enclosing namespaces and classes of its
//    declaration ("(anonymous namespace)::exe_site", "ns::helper"): GCC omits
//    the linkage name for functions with internal linkage, and a bare name
//    would lose the namespace. No parameter list in that case.
// Follows DW_AT_abstract_origin and DW_AT_specification. "" when unnamed.
// Cached per DIE in `index`.
const std::string& FunctionName(Dwarf_Die* die, DwarfIndex& index);

}  // namespace leaktrace::symbolizer
