// The report use cases behind the commands: read dumps, symbolize them with
// one symbolizer, and build the report (a merge, a diff, a trend) that a
// command then renders. The commands only parse options and render.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "format/dump.h"
#include "reporter/group.h"
#include "reporter/model.h"
#include "reporter/report_from_dump.h"
#include "reporter/trend.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::reporter {

// Input refused before any slow work: a path that is a directory or cannot
// be read, dumps that must not be compared, a set of dumps that is not one
// series. The message is one line naming the file(s); the command line
// exits with 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A report, what the symbolizer had to say about the modules it met, and
// what the user should be told about the dumps (one line each, no prefix).
struct Loaded {
  Report report;
  std::vector<symbolizer::ModuleWarning> module_warnings;
  std::vector<std::string> warnings;
};

// Reads one dump: format::DumpError, or InputError for a directory or an I/O
// failure, each one line naming the file.
format::Dump ReadDumpFile(const std::string& path);

// Merging adds up what is live, so two snapshots of one process would count
// twice whatever stayed live between them (and one dump given twice,
// everything). Keeps only the newest snapshot of each process (pid and
// start of its image) and returns the warning to show when it left any out.
std::optional<std::string> KeepNewestSnapshotPerProcess(std::vector<format::Dump>& dumps);

// Reads every dump (format::DumpError on the first bad one), keeps the
// newest snapshot of each process (KeepNewestSnapshotPerProcess, with a
// warning), symbolizes them with one symbolizer, folds sites per `grouping`
// and merges them into one kLive report. Warns when the dumps come from different programs. With
// `older_than` (seconds), each dump first keeps only the objects at least
// that old at its snapshot (KeepOlderThan; a dump without ages is an
// error). `progress` hears each dump's symbolizing (FromDump).
Loaded LoadReport(const std::vector<std::string>& paths, const Grouping& grouping,
                  std::optional<double> older_than = std::nullopt, const StackOptions& stacks = {},
                  const ProgressFn& progress = {});

// Loads BEFORE and AFTER and returns their diff. Dumps of two different
// programs are an InputError unless `force` (then a warning); two runs of one
// program, an exact dump against a sampled one, and a BEFORE taken after
// AFTER get a one-line warning each. `older_than` applies to both: the diff
// of the two populations of objects at least that old.
Loaded LoadDiff(const std::string& before, const std::string& after, const Grouping& grouping,
                std::optional<double> older_than = std::nullopt, const StackOptions& stacks = {},
                bool force = false, const ProgressFn& progress = {});

// A trend and the symbolizer's module warnings.
struct LoadedTrend {
  Trend trend;
  std::vector<symbolizer::ModuleWarning> module_warnings;
};

// Reads every dump (format::DumpError on the first bad one), refuses a set
// that is not one series (InputError: fewer than three, other processes, the
// same snapshot twice) before symbolizing, then symbolizes with one
// symbolizer, folds per `grouping` and judges each site.
LoadedTrend LoadTrend(const std::vector<std::string>& paths, const Grouping& grouping,
                      const StackOptions& stacks = {}, const ProgressFn& progress = {});

}  // namespace leaktrace::reporter
