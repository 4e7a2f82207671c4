#include "cli/load.h"

#include <cstdio>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "cli/errors.h"
#include "format/dump_reader.h"
#include "reporter/age_filter.h"
#include "reporter/diff.h"
#include "reporter/merge.h"
#include "reporter/symbolize.h"
#include "reporter/symbolizer_source.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::cli {

namespace {

format::Dump Read(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw UsageError(path + ": is a directory, not a dump");
  try {
    return format::ReadDump(path);
  } catch (const format::DumpError&) {
    throw;  // already one line naming the file
  } catch (const std::exception& e) {
    // I/O errors surfacing as std::ios_base::failure and the like.
    throw UsageError(path + ": cannot read: " + e.what());
  }
}

// Symbolizes with one Symbolizer so modules shared by the dumps are opened once.
std::vector<reporter::Report> LoadAll(const std::vector<std::string>& paths, const reporter::Grouping& grouping,
                                      std::vector<symbolizer::ModuleWarning>& warnings,
                                      std::optional<double> older_than) {
  std::vector<format::Dump> dumps;
  dumps.reserve(paths.size());
  for (const std::string& p : paths) dumps.push_back(Read(p));  // fail before slow work
  if (older_than)
    for (format::Dump& d : dumps) d = reporter::KeepOlderThan(d, *older_than);

  symbolizer::Symbolizer symbolizer;
  reporter::FrameSource source = reporter::MakeSymbolizerSource(symbolizer);
  std::vector<reporter::Report> reports;
  for (const format::Dump& d : dumps) {
    reports.push_back(reporter::FromDump(d, source));
    reporter::Regroup(reports.back(), grouping);
    reports.back().older_than_s = older_than.value_or(0);
  }
  warnings = symbolizer.TakeModuleWarnings();
  return reports;
}

std::string Programs(const reporter::Report& r) {
  std::set<std::string> names;
  for (const reporter::DumpInfo& d : r.dumps) names.insert(d.program);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

format::Dump ReadDumpFile(const std::string& path) { return Read(path); }

void Warn(const std::string& message) { std::fprintf(stderr, "leaktrace: warning: %s\n", message.c_str()); }

Loaded LoadReport(const std::vector<std::string>& paths, const reporter::Grouping& grouping,
                  std::optional<double> older_than) {
  Loaded loaded;
  loaded.report = reporter::Merge(LoadAll(paths, grouping, loaded.module_warnings, older_than));
  loaded.report.older_than_s = older_than.value_or(0);
  const reporter::Report& merged = loaded.report;
  std::set<std::string> programs;
  for (const reporter::DumpInfo& d : merged.dumps) programs.insert(d.program);
  if (programs.size() > 1)
    Warn(fmt::format("merging dumps of different programs ({})", fmt::join(programs, ", ")));
  return loaded;
}

Loaded LoadDiff(const std::string& before_path, const std::string& after_path, const reporter::Grouping& grouping,
                std::optional<double> older_than) {
  Loaded loaded;
  std::vector<reporter::Report> both =
      LoadAll({before_path, after_path}, grouping, loaded.module_warnings, older_than);
  const reporter::Report& before = both[0];
  const reporter::Report& after = both[1];
  const reporter::DumpInfo& b = before.dumps.at(0);
  const reporter::DumpInfo& a = after.dumps.at(0);
  if (b.program != a.program || (b.exe_path != a.exe_path && !b.exe_path.empty() && !a.exe_path.empty())) {
    Warn(fmt::format("{} is from '{}' but {} is from '{}'; only call sites in code they share will match",
                     before_path, b.exe_path.empty() ? Programs(before) : b.exe_path, after_path,
                     a.exe_path.empty() ? Programs(after) : a.exe_path));
  } else if (b.pid == a.pid && b.start_realtime_ns == a.start_realtime_ns &&
             a.snapshot_monotonic_ns < b.snapshot_monotonic_ns) {
    Warn(fmt::format("{} was taken after {}; are BEFORE and AFTER swapped?", before_path, after_path));
  }
  loaded.report = reporter::Diff(before, after);
  return loaded;
}

void WarnAboutModules(const std::vector<symbolizer::ModuleWarning>& warnings,
                      const std::vector<const reporter::Site*>& shown) {
  std::set<std::string> modules;
  for (const reporter::Site* s : shown)
    for (const reporter::Frame& f : s->frames) modules.insert(f.module);
  WarnAboutModules(warnings, modules);
}

void WarnAboutModules(const std::vector<symbolizer::ModuleWarning>& warnings, const std::set<std::string>& modules) {
  std::vector<std::string> no_debug;
  for (const symbolizer::ModuleWarning& w : warnings) {
    if (!modules.count(w.module)) continue;
    if (w.kind == symbolizer::ModuleWarning::Kind::kNoDebugInfo) {
      no_debug.push_back(reporter::ModuleBasename(w.module));
    } else {
      Warn(w.message);
    }
  }
  if (!no_debug.empty())
    Warn(fmt::format("no debug information for {}: function names only, no file:line (install -dbgsym packages, "
                     "or build with -g)",
                     fmt::join(no_debug, ", ")));
}

}  // namespace leaktrace::cli
