// Flame-graph exports of a report: folded stacks (flamegraph.pl, speedscope,
// inferno) and a self-contained HTML flame graph (d3-flame-graph).
#pragma once

#include <string>

#include "reporter/model.h"

namespace leaktrace::reporter {

// One line per site of `resource`: "outer;...;inner VALUE", frames outermost
// first (inline frames included), VALUE the site's bytes rounded to an
// integer (for fd: its count). Sites whose value is not positive are left
// out (in a diff: what shrank). ';' in a name becomes ':' and control
// characters '?', so every line parses. A site without a stack is "[no stack]".
std::string RenderFolded(const Report& report, Resource resource);

// Whether this build embeds the page's browser code (reporter/web; false when
// configured with -DLEAKTRACE_HTML_FLAMEGRAPH=OFF): RenderFlameHtml needs it.
bool FlameHtmlAvailable();

// A single HTML page that loads nothing (d3 and d3-flame-graph inlined, see
// reporter/web/): a flame graph of the same values as RenderFolded, roots at
// the top, every frame labelled with its function, size (and share of the
// total) and file:line, inline frames marked and coloured apart; click to
// zoom, a search box, a tooltip with the full path and module. The header
// names the program, the pid, snapshot number, time and trigger of each dump
// (for a growth report, the BEFORE and AFTER dumps), the sampling, and the
// total.
std::string RenderFlameHtml(const Report& report, Resource resource);

}  // namespace leaktrace::reporter
