// The HTML flame graph's page and browser code, embedded at build time
// (reporter/web/CMakeLists.txt): d3 and d3-flame-graph as package-lock.json
// pins them (d3-flame-graph's script adds its own stylesheet), and our page
// (flamegraph.html).
// Built with -DLEAKTRACE_HTML_FLAMEGRAPH=OFF, every view is empty and
// kFlameAssetsBuilt is false.
#pragma once

#include <string_view>

namespace leaktrace::reporter::web {

extern const bool kFlameAssetsBuilt;
extern const std::string_view kD3Js;           // d3.min.js
extern const std::string_view kFlameGraphJs;   // d3-flamegraph.umd.min.js (global `flamegraph`)
extern const std::string_view kPageTemplate;   // flamegraph.html, with {{NAME}} placeholders
extern const std::string_view kVersions;       // "d3 7.9.2 (ISC license), d3-flame-graph ..." for the page

}  // namespace leaktrace::reporter::web
