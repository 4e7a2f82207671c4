// Reading and symbolizing dumps for the report-type commands.
#pragma once

#include <string>
#include <vector>

#include "reporter/model.h"

namespace leaktrace::cli {

// Reads every dump (format::DumpError on the first bad one), symbolizes them
// with one symbolizer (its warnings go to stderr, once each) and merges them
// into one kLive report. Warns when the dumps come from different programs.
reporter::Report LoadReport(const std::vector<std::string>& paths);

// Loads BEFORE and AFTER and returns their diff. Warns (stderr) when they
// come from different programs or look swapped.
reporter::Report LoadDiff(const std::string& before, const std::string& after);

// "leaktrace: warning: <message>" on stderr.
void Warn(const std::string& message);

}  // namespace leaktrace::cli
