// The chain of inlined calls at one address, read from DWARF.
#pragma once

#include <elfutils/libdwfl.h>

#include <vector>

#include "symbolizer/dwarf_index.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::symbolizer {

// The frames at `addr` (an address in `mod`'s Dwfl address space), innermost
// first: every DW_TAG_inlined_subroutine around `addr` as its own frame
// (inlined = true), ending with the DW_TAG_subprogram that really contains
// it (inlined = false). Only function, file, line, column and inlined are
// filled in.
//
// Locations: the innermost frame takes the line table row for `addr`; each
// outer frame takes DW_AT_call_file/line/column of the inlined call just inside
// it, i.e. where in the caller the inlined body was called from.
//
// Function names: see FunctionName (dwarf_names.h). A name may be empty (the
// caller may fill it from the ELF symbol table).
//
// `index` must belong to `mod` (it caches per-unit tables and names).
// Returns an empty vector when no DWARF covers `addr`. libdw errors never
// throw; only std::bad_alloc can escape.
std::vector<Frame> DwarfFrames(Dwfl_Module* mod, DwarfIndex& index, Dwarf_Addr addr);

}  // namespace leaktrace::symbolizer
