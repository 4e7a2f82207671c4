// Renderers for `leaktrace trend`: text for people, JSON for scripts.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "reporter/render.h"
#include "reporter/trend.h"

namespace leaktrace::reporter {

// The growth report of the series (first snapshot to last, every site), in
// the trend's order: what RenderSiteText and ToJson take.
Report SeriesGrowth(const Trend& trend);

// Header (process, snapshots, span, verdict counts), then every site that is
// not flat (leaks first), each as `diff` shows it plus a line with its
// verdict, slope ± standard error ("± at most" where it is an upper bound)
// and the series of values; a line under the header when some dumps do not
// record their samples' births. --top and
// --min-bytes apply per resource, as in a diff.
std::string RenderTrendText(const Trend& trend, const RenderOptions& options);

// As a diff's JSON ("kind": "trend"; `bytes`/`count` the growth first to
// last) plus "seconds" (per dump), "verdicts" (sites per verdict) and per
// site "verdict", "slope", "slope_stderr", "recent_slope",
// "recent_slope_stderr", "slope_stderr_is_bound" (TrendSite::stderr_is_bound),
// "slope_unit" ("bytes/s"; "count/min" for fd) and "series" (the judged
// figure per snapshot). Every site, flat ones included.
nlohmann::ordered_json TrendToJson(const Trend& trend, const RenderOptions& options);
std::string RenderTrendJson(const Trend& trend, const RenderOptions& options);

// "+40.0 KiB/s" (heap, mmap) or "+3.0/min" (fd), from a per-second slope.
std::string FormatSlope(Resource resource, double per_second);

}  // namespace leaktrace::reporter
