#include "cli/load_series.h"

#include <filesystem>

#include <fmt/format.h>

#include "cli/errors.h"
#include "format/dump_reader.h"
#include "reporter/render.h"
#include "reporter/render_trend.h"
#include "reporter/symbolize.h"
#include "reporter/symbolizer_source.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::cli {

namespace {

// As load.cc reads a dump: one-line errors naming the file.
format::Dump Read(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw UsageError(path + ": is a directory, not a dump");
  try {
    return format::ReadDump(path);
  } catch (const format::DumpError&) {
    throw;
  } catch (const std::exception& e) {
    throw UsageError(path + ": cannot read: " + e.what());
  }
}

}  // namespace

LoadedTrend LoadTrend(const std::vector<std::string>& paths, const reporter::Grouping& grouping,
                      const reporter::StackOptions& stacks) {
  if (paths.size() < 3)
    throw UsageError(fmt::format("trend needs three or more snapshots of one process, got {}", paths.size()));
  std::vector<format::Dump> dumps;
  dumps.reserve(paths.size());
  for (const std::string& p : paths) dumps.push_back(Read(p));
  std::vector<reporter::DumpInfo> infos;
  for (const format::Dump& d : dumps) infos.push_back(reporter::DescribeDump(d));
  if (auto problem = reporter::SeriesProblem(infos)) throw UsageError(*problem);

  symbolizer::Symbolizer symbolizer;
  reporter::FrameSource source = reporter::MakeSymbolizerSource(symbolizer);
  std::vector<reporter::Report> live, allocated;
  for (const format::Dump& d : dumps) {
    live.push_back(reporter::FromDump(d, source, stacks));
    reporter::Regroup(live.back(), grouping);
    allocated.push_back(reporter::AllocatedReport(d, source, stacks));
    reporter::Regroup(allocated.back(), grouping);
  }
  LoadedTrend loaded;
  loaded.trend = reporter::ComputeTrend(live, allocated);
  loaded.module_warnings = symbolizer.TakeModuleWarnings();
  return loaded;
}

int RunTrendCheck(const std::vector<std::string>& paths, const reporter::Thresholds& thresholds,
                  const reporter::Suppressions& suppressions, const OutputOptions& output,
                  const reporter::RenderOptions& render, const reporter::Grouping& grouping,
                  const reporter::StackOptions& stacks) {
  LoadedTrend loaded = LoadTrend(paths, grouping, stacks);
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
