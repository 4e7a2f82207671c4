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
std::vector<reporter::Report> LoadAll(std::vector<format::Dump> dumps, const reporter::Grouping& grouping,
                                      std::vector<symbolizer::ModuleWarning>& warnings,
                                      std::optional<double> older_than, const reporter::StackOptions& stacks) {
  if (older_than)
    for (format::Dump& d : dumps) d = reporter::KeepOlderThan(d, *older_than);

  symbolizer::Symbolizer symbolizer;
  reporter::FrameSource source = reporter::MakeSymbolizerSource(symbolizer);
  std::vector<reporter::Report> reports;
  for (const format::Dump& d : dumps) {
    reports.push_back(reporter::FromDump(d, source, stacks));
    reporter::Regroup(reports.back(), grouping);
    reports.back().older_than_s = older_than.value_or(0);
  }
  warnings = symbolizer.TakeModuleWarnings();
  return reports;
}

}  // namespace

format::Dump ReadDumpFile(const std::string& path) { return Read(path); }

void Warn(const std::string& message) { std::fprintf(stderr, "leaktrace: warning: %s\n", message.c_str()); }

Loaded LoadReport(const std::vector<std::string>& paths, const reporter::Grouping& grouping,
                  std::optional<double> older_than, const reporter::StackOptions& stacks) {
  Loaded loaded;
  std::vector<format::Dump> dumps;
  dumps.reserve(paths.size());
  for (const std::string& p : paths) dumps.push_back(Read(p));  // fail before slow work
  loaded.report = reporter::Merge(LoadAll(std::move(dumps), grouping, loaded.module_warnings, older_than, stacks));
  loaded.report.older_than_s = older_than.value_or(0);
  const reporter::Report& merged = loaded.report;
  std::set<std::string> programs;
  for (const reporter::DumpInfo& d : merged.dumps) programs.insert(d.program);
  if (programs.size() > 1)
    Warn(fmt::format("merging dumps of different programs ({})", fmt::join(programs, ", ")));
  return loaded;
}

Loaded LoadDiff(const std::string& before_path, const std::string& after_path, const reporter::Grouping& grouping,
                std::optional<double> older_than, const reporter::StackOptions& stacks, bool force) {
  Loaded loaded;
  // Read both before symbolizing: a refusal must not wait for slow work.
  std::vector<format::Dump> dumps;
  dumps.push_back(Read(before_path));
  dumps.push_back(Read(after_path));
  const reporter::DumpInfo b = reporter::DescribeDump(dumps[0]);
  const reporter::DumpInfo a = reporter::DescribeDump(dumps[1]);
  if (b.program != a.program) {
    const std::string message =
        fmt::format("{} is from '{}' but {} is from '{}': different programs, only call sites in code they share "
                    "would match",
                    before_path, b.exe_path.empty() ? b.program : b.exe_path, after_path,
                    a.exe_path.empty() ? a.program : a.exe_path);
    if (!force) throw UsageError(message + " (add --force to compare them anyway)");
    Warn(message);
  } else if (b.exe_path != a.exe_path && !b.exe_path.empty() && !a.exe_path.empty()) {
    Warn(fmt::format("{} and {} are from two builds of {} ({} and {}); call sites match by function, file and line",
                     before_path, after_path, a.program, b.exe_path, a.exe_path));
  } else if (b.pid != a.pid || b.start_realtime_ns != a.start_realtime_ns) {
    Warn(fmt::format("{} and {} are from two runs of {} (pids {} and {}): growth includes what differs between "
                     "the runs",
                     before_path, after_path, a.program, b.pid, a.pid));
  }
  if (b.exact != a.exact)
    Warn(fmt::format("{} is {} but {} is {}: growth mixes exact counts with sampled estimates", before_path,
                     b.exact ? "exact" : "sampled", after_path, a.exact ? "exact" : "sampled"));
  if (b.snapshot_realtime_ns > 0 && a.snapshot_realtime_ns > 0 && a.snapshot_realtime_ns < b.snapshot_realtime_ns)
    Warn(fmt::format("{} was taken {:.1f} s after {}; are BEFORE and AFTER swapped?", before_path,
                     static_cast<double>(b.snapshot_realtime_ns - a.snapshot_realtime_ns) / 1e9, after_path));
  std::vector<reporter::Report> both =
      LoadAll(std::move(dumps), grouping, loaded.module_warnings, older_than, stacks);
  loaded.report = reporter::Diff(both[0], both[1]);
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
