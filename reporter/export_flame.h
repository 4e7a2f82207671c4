// Flame-graph exports of a report: folded stacks (flamegraph.pl, speedscope,
// inferno) and a self-contained HTML flame graph.
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

// A single HTML page, no external resource (inline CSS and JS, no URL): a
// flame graph of the same values, roots at the top, click to zoom, hover for
// the value. `title` heads the page.
std::string RenderFlameHtml(const Report& report, Resource resource, const std::string& title);

}  // namespace leaktrace::reporter
