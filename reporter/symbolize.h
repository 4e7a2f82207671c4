// Turns one dump's raw sites (stack ids, return addresses) into model sites.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "format/dump.h"
#include "reporter/model.h"

namespace leaktrace::reporter {

// The symbolization seam: the frames for one return address of `dump`,
// innermost inline frame first, never empty. The command line plugs in the
// real symbolizer (symbolizer_source.h); tests plug in a table.
using FrameSource = std::function<std::vector<Frame>(const format::Dump& dump, uint64_t pc)>;

// One report (kind kLive) for one dump: every site symbolized, leaktrace's own
// frames dropped, and sites whose stacks symbolize identically added up.
// A site whose stack id is missing from the dump keeps an empty stack.
// Shows a progress line on stderr when that is a terminal and the work takes
// a while (progress.h).
Report FromDump(const format::Dump& dump, const FrameSource& source);

// True for frames that belong to leaktrace itself (module libleaktrace*).
bool IsLeaktraceFrame(const Frame& f);

}  // namespace leaktrace::reporter
