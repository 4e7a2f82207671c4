#include "symbolizer/dwarf_frames.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <string>

#include "symbolizer/dwarf_names.h"

namespace leaktrace::symbolizer {
namespace {

struct Location {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

// Nesting of lexical blocks and inlined calls inside one function; the cap
// guards against corrupt DWARF.
constexpr int kMaxNesting = 128;

// DIEs that own code ranges inside a function and may hold inlined calls.
bool IsCodeScope(int tag) {
  switch (tag) {
    case DW_TAG_inlined_subroutine:
    case DW_TAG_lexical_block:
    case DW_TAG_subprogram:  // nested functions (a GNU C extension)
    case DW_TAG_entry_point:
    case DW_TAG_try_block:
    case DW_TAG_catch_block:
    case DW_TAG_with_stmt:
      return true;
    default:
      return false;
  }
}

// The concrete scopes from `function` down to the innermost one holding
// `addr`, outermost first.
std::vector<Dwarf_Die> ScopesAt(const Dwarf_Die& function, Dwarf_Addr addr) {
  std::vector<Dwarf_Die> chain{function};
  for (int depth = 0; depth < kMaxNesting; ++depth) {
    Dwarf_Die child;
    bool found = false;
    if (dwarf_child(&chain.back(), &child) == 0) {
      do {
        if (IsCodeScope(dwarf_tag(&child)) && dwarf_haspc(&child, addr) == 1) {
          found = true;
          break;
        }
        Dwarf_Die next;
        if (dwarf_siblingof(&child, &next) != 0) break;
        child = next;
      } while (true);
    }
    if (!found) break;
    chain.push_back(child);
  }
  return chain;
}

bool IsFunctionScope(int tag) {
  return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
         tag == DW_TAG_entry_point;
}

Location LineTableLocation(Dwarf_Die* unit, Dwarf_Addr addr) {
  Location loc;
  Dwarf_Line* row = dwarf_getsrc_die(unit, addr);
  if (row == nullptr) return loc;
  if (const char* file = dwarf_linesrc(row, nullptr, nullptr)) loc.file = file;
  int line = 0;
  int column = 0;
  dwarf_lineno(row, &line);
  dwarf_linecol(row, &column);
  loc.line = line > 0 ? static_cast<uint32_t>(line) : 0;
  loc.column = column > 0 ? static_cast<uint32_t>(column) : 0;
  return loc;
}

// Where the inlined body `inlined` was called from, in its caller.
Location CallSite(Dwarf_Die* inlined) {
  Location loc;
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value) == 0) {
    Dwarf_Die cu;
    Dwarf_Files* files = nullptr;
    size_t nfiles = 0;
    if (dwarf_diecu(inlined, &cu, nullptr, nullptr) != nullptr &&
        dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && value < nfiles) {
      if (const char* file = dwarf_filesrc(files, value, nullptr, nullptr)) loc.file = file;
    }
  }
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value) == 0)
    loc.line = static_cast<uint32_t>(value);
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_column, &attr), &value) == 0)
    loc.column = static_cast<uint32_t>(value);
  return loc;
}

Frame MakeFrame(std::string function, const Location& loc, bool inlined) {
  Frame f;
  f.function = std::move(function);
  f.file = loc.file;
  f.line = loc.line;
  f.column = loc.column;
  f.inlined = inlined;
  return f;
}

}  // namespace

std::vector<Frame> DwarfFrames(Dwfl_Module* mod, DwarfIndex& index, Dwarf_Addr addr) {
  std::vector<Frame> frames;
  Dwarf_Addr bias = 0;
  Dwarf_Die cu;
  if (!index.UnitAt(mod, addr, &cu, &bias)) return frames;

  Location loc = LineTableLocation(&cu, addr - bias);

  // Not dwarf_getscopes(): beyond an inlined instance it continues into the
  // abstract definition (right for variables, wrong for a call chain), it
  // prunes namespaces (clang nests function definitions in them), and it
  // rescans the unit on every call. The unit index finds the function; the descent below
  // follows the concrete tree only.
  std::vector<Dwarf_Die> scopes;
  const UnitIndex* unit = index.UnitOf(&cu);
  if (const Dwarf_Die* function = unit != nullptr ? unit->FunctionAt(addr - bias) : nullptr)
    scopes = ScopesAt(*function, addr - bias);

  for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
    Dwarf_Die* die = &*it;
    int tag = dwarf_tag(die);
    if (!IsFunctionScope(tag)) continue;  // lexical blocks
    bool inlined = tag == DW_TAG_inlined_subroutine;
    frames.push_back(MakeFrame(FunctionName(die, index), loc, inlined));
    if (!inlined) break;
    loc = CallSite(die);
  }

  // Covered by a CU but by no function DIE (or an inlined chain whose
  // subprogram is missing): keep the location; the caller names the function.
  if (frames.empty() || frames.back().inlined) {
    if (frames.empty() && loc.file.empty()) return frames;
    frames.push_back(MakeFrame({}, loc, false));
  }
  return frames;
}

}  // namespace leaktrace::symbolizer
