// Raw return addresses from a dump -> function, file, line and inline frames.
//
// The target process records only instruction pointers and its module map
// (path, build id, load bias, segments). This turns them back into source
// locations here, in the tool, with elfutils libdw: debug information is found
// in the binary itself, through .gnu_debuglink, or under
// /usr/lib/debug/.build-id/ (what Debian's -dbgsym packages install). A file on
// disk whose build id differs from the one that ran is never trusted. See
// docs/symbolizer.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format/dump.h"
#include "symbolizer/frame.h"

namespace leaktrace::symbolizer {

// Something the user should know about one module, said once per module.
struct ModuleWarning {
  enum class Kind {
    kNoDebugInfo,      // functions from the symbol table only, no file/line
    kBuildIdMismatch,  // the file on disk is another build: not symbolized
    kUnavailable,      // missing, unreadable or not ELF: not symbolized
    kDebugInfoUnread,  // no descriptor left to look for its debug information: function names only
  };
  Kind kind = Kind::kUnavailable;
  std::string module;   // the module path as the frames carry it (Frame::module)
  std::string message;  // one line for people, naming the module
};

class ModuleCache;  // symbolizer/module_cache.h

// Not thread-safe. Caches per module (keyed by path + build id) across dumps, so one
// Symbolizer can serve several dumps whose modules were loaded at different addresses.
//
// Files are opened lazily, on the first address that falls in them, so modules
// no stack points into cost nothing and produce no warning.
class Symbolizer {
 public:
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // All frames for one return address `pc` recorded in `dump`: the innermost inlined
  // function first, ending with the real (non-inlined) function containing the call.
  // The lookup uses pc - 1 (pc is a return address). Never returns an empty vector:
  // when nothing is known it returns one frame with module + module_offset (or only the raw
  // address in module_offset with module "" when no module contains pc).
  //
  // module_offset is pc - load_bias (the return address, link-time), the same
  // in every frame of the result. Never throws for bad or missing modules.
  // A module recorded with an empty path is looked up as dump.process.exe_path.
  std::vector<Frame> Symbolize(const format::Dump& dump, uint64_t pc);

  // Warnings gathered so far (each once: e.g. "/usr/lib/x/libfoo.so: build-id differs from the
  // binary that ran (expected ab12…, found cd34…); its frames are shown as module+offset",
  // or "cannot open /path: No such file"), then cleared.
  std::vector<std::string> TakeWarnings();
  // The same warnings with the module they are about, so a caller can keep
  // only those about modules it actually shows; also drains the queue.
  std::vector<ModuleWarning> TakeModuleWarnings();

 private:
  std::unique_ptr<ModuleCache> modules_;
};

}  // namespace leaktrace::symbolizer
