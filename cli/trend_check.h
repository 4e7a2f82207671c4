// `leaktrace check --trend`: the gate on a series of snapshots of one process.
#pragma once

#include <string>
#include <vector>

#include "cli/output.h"
#include "reporter/check.h"
#include "reporter/group.h"
#include "reporter/suppressions.h"
#include "reporter/trend.h"

namespace leaktrace::cli {

// `leaktrace check --trend`: gates on the sites judged `leak`, with their
// growth over the series, by reporter::Check's rules. Prints the result in
// `output.format` and returns the exit code.
int RunTrendCheck(const std::vector<std::string>& paths, const reporter::Thresholds& thresholds,
                  const reporter::Suppressions& suppressions, const OutputOptions& output,
                  const reporter::RenderOptions& render, const reporter::Grouping& grouping,
                  const reporter::StackOptions& stacks = {});

}  // namespace leaktrace::cli
