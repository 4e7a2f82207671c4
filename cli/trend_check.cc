#include "cli/trend_check.h"

#include <fmt/format.h>

#include "cli/errors.h"
#include "cli/progress.h"
#include "cli/warnings.h"
#include "reporter/load.h"
#include "reporter/render.h"
#include "reporter/render_trend.h"

namespace leaktrace::cli {

int RunTrendCheck(const std::vector<std::string>& paths, const reporter::Thresholds& thresholds,
                  const reporter::Suppressions& suppressions, const OutputOptions& output,
                  const reporter::RenderOptions& render, const reporter::Grouping& grouping,
                  const reporter::StackOptions& stacks) {
  reporter::LoadedTrend loaded = reporter::LoadTrend(paths, grouping, stacks, ShowProgress("symbolizing", "stacks"));
  const reporter::Report leaks = reporter::LeakGrowth(loaded.trend);
  reporter::CheckResult result = reporter::Check(leaks, thresholds, suppressions);
  std::string out;
  if (output.format == "json") {
    nlohmann::ordered_json doc = reporter::CheckToJson(result, leaks, thresholds, render);
    doc["trend"] = reporter::TrendToJson(loaded.trend, render);
    out = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else if (output.format == "junit") {
    out = reporter::RenderCheckJunit(result, leaks, render);
  } else {
    size_t n = 0;
    for (const reporter::TrendSite& s : loaded.trend.sites) n += s.verdict == reporter::Verdict::kLeak;
    out = fmt::format("trend over {} snapshots: {} call site(s) judged leak (growth below is first to last "
                      "snapshot; warm-up, bounded, shrinking, not significant and flat sites are not gated)\n",
                      loaded.trend.dumps.size(), n);
    out += reporter::RenderCheckText(result, leaks, render);
  }
  reporter::Report offending;
  offending.sites = result.offending;
  WarnAboutModules(loaded.module_warnings, reporter::SelectSites(offending, render, nullptr));
  WriteStdout(out);
  return result.passed ? kExitOk : kExitFailed;
}

}  // namespace leaktrace::cli
