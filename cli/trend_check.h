// Reading a series of snapshots of one process for `trend` and `check --trend`.
#pragma once

#include <string>
#include <vector>

#include "cli/load.h"
#include "cli/output.h"
#include "reporter/symbolize.h"
#include "reporter/check.h"
#include "reporter/group.h"
#include "reporter/suppressions.h"
#include "reporter/trend.h"

namespace leaktrace::cli {

struct LoadedTrend {
  reporter::Trend trend;
  std::vector<symbolizer::ModuleWarning> module_warnings;
};

// Reads every dump (format::DumpError on the first bad one), refuses a set
// that is not one series (UsageError: fewer than three, other processes, the
// same snapshot twice) before symbolizing, then symbolizes with one
// symbolizer, folds per `grouping` and judges each site.
LoadedTrend LoadTrend(const std::vector<std::string>& paths, const reporter::Grouping& grouping,
                      const reporter::StackOptions& stacks = {});

// `leaktrace check --trend`: gates on the sites judged `leak`, with their
// growth over the series, by reporter::Check's rules. Prints the result in
// `output.format` and returns the exit code.
int RunTrendCheck(const std::vector<std::string>& paths, const reporter::Thresholds& thresholds,
                  const reporter::Suppressions& suppressions, const OutputOptions& output,
                  const reporter::RenderOptions& render, const reporter::Grouping& grouping,
                  const reporter::StackOptions& stacks = {});

}  // namespace leaktrace::cli
