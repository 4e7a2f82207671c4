// One source-level frame: what a return address of a dump symbolizes to
// (one per inline level). The symbolizer makes them; the reporter keeps them
// in its sites. Header only, so the reporter core (and its tests) use the
// type without linking the symbolizer.
#pragma once

#include <cstdint>
#include <string>

namespace leaktrace::symbolizer {

struct Frame {
  std::string function;        // demangled (abi::__cxa_demangle); empty when unknown
  std::string file;            // source file as recorded in DWARF (full path if available); empty without debug info
  uint32_t line = 0;           // 0 when unknown
  uint32_t column = 0;
  std::string module;          // the module's path as in the dump ("" if the pc is in no module)
  std::string build_id;        // hex of the module's build id, may be empty
  uint64_t module_offset = 0;  // link-time address (pc - load_bias) of the looked-up address
  bool inlined = false;        // this frame is an inlined call inside the next (outer) frame
  bool build_id_mismatch = false;  // the file on disk is not the binary that ran: not symbolized
};

}  // namespace leaktrace::symbolizer
