// Reading and symbolizing dumps for the report-type commands.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reporter/group.h"
#include "reporter/model.h"
#include "reporter/symbolize.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::cli {

// A report and what the symbolizer had to say about the modules it met.
struct Loaded {
  reporter::Report report;
  std::vector<symbolizer::ModuleWarning> module_warnings;
};

// Reads one dump: format::DumpError, or UsageError for a directory or an I/O
// failure, each one line naming the file.
format::Dump ReadDumpFile(const std::string& path);

// Reads every dump (format::DumpError on the first bad one), symbolizes them
// with one symbolizer, folds sites per `grouping` and merges them into one
// kLive report. Warns (stderr) when the dumps come from different programs.
// With `older_than` (seconds), each dump first keeps only the objects at
// least that old at its snapshot (reporter::KeepOlderThan; a dump without
// ages is an error).
Loaded LoadReport(const std::vector<std::string>& paths, const reporter::Grouping& grouping,
                  std::optional<double> older_than = std::nullopt, const reporter::StackOptions& stacks = {});

// Loads BEFORE and AFTER and returns their diff. Dumps of two different
// programs are a UsageError unless `force` (then a warning); two runs of one
// program, an exact dump against a sampled one, and a BEFORE taken after
// AFTER get a one-line warning each. `older_than` applies to both: the diff
// of the two populations of objects at least that old.
Loaded LoadDiff(const std::string& before, const std::string& after, const reporter::Grouping& grouping,
                std::optional<double> older_than = std::nullopt, const reporter::StackOptions& stacks = {},
                bool force = false);

// Prints the module warnings that concern the sites shown, so a module no
// shown frame is in stays quiet: an unreadable file or another build on disk,
// one line each; missing debug information, one line for all such modules.
void WarnAboutModules(const std::vector<symbolizer::ModuleWarning>& warnings,
                      const std::vector<const reporter::Site*>& shown);
// The same for output that shows frames of exactly these modules (paths as
// Frame::module carries them).
void WarnAboutModules(const std::vector<symbolizer::ModuleWarning>& warnings, const std::set<std::string>& modules);

// "leaktrace: warning: <message>" on stderr.
void Warn(const std::string& message);

}  // namespace leaktrace::cli
