// A self-contained HTML page with a time chart of a process's memory across
// its dumps: RSS, live heap, memory the allocator holds free, thread stacks
// and unexplained memory (memory.h), as an SVG we draw ourselves (no script,
// no network). `leaktrace export --format memory-html`.
#pragma once

#include <string>
#include <vector>

#include "reporter/model.h"

namespace leaktrace::reporter {

// `dumps`: two or more dumps with memory figures, any order (drawn by
// snapshot time). Throws std::invalid_argument naming the problem when
// fewer than two carry memory figures.
std::string RenderMemoryChartHtml(std::vector<DumpInfo> dumps);

}  // namespace leaktrace::reporter
