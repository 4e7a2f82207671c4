// One source-level frame: what a return address of a dump symbolizes to
// (one per inline level). The symbolizer makes them; the reporter keeps them
// in its sites. Header only (its strings need only the small
// leaktrace_interned_string library), so the reporter core (and its tests)
// use the type without linking the symbolizer.
//
// A large report holds millions of frames naming a few thousand distinct
// functions, files and modules: the texts are interned (interned_string.h),
// which makes a frame about 50 bytes and copying one cheap.
#pragma once

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

#include "symbolizer/interned_string.h"

namespace leaktrace::symbolizer {

struct Frame {
  InternedString function;     // demangled (abi::__cxa_demangle); empty when unknown
  InternedString file;         // source file as recorded in DWARF (full path if available); empty without debug info
  uint32_t line = 0;           // 0 when unknown
  uint32_t column = 0;
  InternedString module;       // the module's path as in the dump ("" if the pc is in no module)
  InternedString build_id;     // hex of the module's build id, may be empty
  uint64_t module_offset = 0;  // link-time address (pc - load_bias) of the looked-up address
  bool inlined = false;        // this frame is an inlined call inside the next (outer) frame
  bool build_id_mismatch = false;  // the file on disk is not the binary that ran: not symbolized
};

// Base name of a module path ("/usr/lib/libc.so.6" -> "libc.so.6").
inline std::string ModuleBasename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// What a report prints for a frame: the function when known, else
// "libfoo.so.1+0x1a2b" (module base name and link-time offset), or "0x1a2b"
// for a pc in no module.
inline std::string DisplayName(const Frame& f) {
  if (!f.function.empty()) return f.function;
  char offset[2 + 16 + 1];
  std::snprintf(offset, sizeof offset, "0x%" PRIx64, f.module_offset);
  if (f.module.empty()) return offset;
  return ModuleBasename(f.module) + "+" + offset;
}

}  // namespace leaktrace::symbolizer
