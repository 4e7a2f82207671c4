#include "reporter/load.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "format/dump_reader.h"
#include "reporter/age_filter.h"
#include "reporter/diff.h"
#include "reporter/merge.h"
#include "reporter/symbolizer_source.h"

namespace leaktrace::reporter {

namespace {

// Symbolizes with one Symbolizer so modules shared by the dumps are opened once.
std::vector<Report> LoadAll(std::vector<format::Dump> dumps, const Grouping& grouping,
                            std::vector<symbolizer::ModuleWarning>& warnings, std::optional<double> older_than,
                            const StackOptions& stacks, const ProgressFn& progress) {
  if (older_than)
    for (format::Dump& d : dumps) d = KeepOlderThan(d, *older_than);

  symbolizer::Symbolizer symbolizer;
  FrameSource source = MakeSymbolizerSource(symbolizer);
  std::vector<Report> reports;
  for (const format::Dump& d : dumps) {
    reports.push_back(FromDump(d, source, stacks, progress));
    Regroup(reports.back(), grouping);
    reports.back().older_than_s = older_than.value_or(0);
  }
  warnings = symbolizer.TakeModuleWarnings();
  return reports;
}

}  // namespace

format::Dump ReadDumpFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": is a directory, not a dump");
  try {
    return format::ReadDump(path);
  } catch (const format::DumpError&) {
    throw;  // already one line naming the file
  } catch (const std::exception& e) {
    // I/O errors surfacing as std::ios_base::failure and the like.
    throw InputError(path + ": cannot read: " + e.what());
  }
}

std::optional<std::string> KeepNewestSnapshotPerProcess(std::vector<format::Dump>& dumps) {
  // One image of one process: a pid and the library's start there (exec
  // starts a new image under the same pid; its heap starts empty).
  auto same_process = [](const format::Dump& a, const format::Dump& b) {
    return a.process.pid == b.process.pid && a.process.start_realtime_ns == b.process.start_realtime_ns;
  };
  std::vector<bool> keep(dumps.size(), true);
  size_t dropped = 0;
  for (size_t i = 0; i < dumps.size(); ++i) {
    for (size_t j = 0; j < dumps.size() && keep[i]; ++j) {
      if (i == j || !keep[j] || !same_process(dumps[i], dumps[j])) continue;
      const int64_t ti = dumps[i].process.snapshot_monotonic_ns, tj = dumps[j].process.snapshot_monotonic_ns;
      if (ti < tj || (ti == tj && i > j)) {  // an earlier snapshot, or the same one given again
        keep[i] = false;
        ++dropped;
      }
    }
  }
  if (dropped == 0) return std::nullopt;
  std::vector<format::Dump> kept;
  for (size_t i = 0; i < dumps.size(); ++i)
    if (keep[i]) kept.push_back(std::move(dumps[i]));
  dumps = std::move(kept);
  return fmt::format("{} of the dumps {} an earlier snapshot of a process given again (or the same dump twice): "
                     "each process counts once, at its newest snapshot ('leaktrace diff' compares two snapshots)",
                     dropped, dropped == 1 ? "is" : "are");
}

Loaded LoadReport(const std::vector<std::string>& paths, const Grouping& grouping, std::optional<double> older_than,
                  const StackOptions& stacks, const ProgressFn& progress) {
  Loaded loaded;
  std::vector<format::Dump> dumps;
  dumps.reserve(paths.size());
  for (const std::string& p : paths) dumps.push_back(ReadDumpFile(p));  // fail before slow work
  if (std::optional<std::string> w = KeepNewestSnapshotPerProcess(dumps)) loaded.warnings.push_back(*w);
  std::set<std::string> programs;
  for (const format::Dump& d : dumps) programs.insert(DescribeDump(d).program);
  if (programs.size() > 1)
    loaded.warnings.push_back(fmt::format("merging dumps of different programs ({})", fmt::join(programs, ", ")));
  loaded.report = Merge(LoadAll(std::move(dumps), grouping, loaded.module_warnings, older_than, stacks, progress));
  loaded.report.older_than_s = older_than.value_or(0);
  return loaded;
}

Loaded LoadDiff(const std::string& before_path, const std::string& after_path, const Grouping& grouping,
                std::optional<double> older_than, const StackOptions& stacks, bool force,
                const ProgressFn& progress) {
  Loaded loaded;
  // Read both before symbolizing: a refusal must not wait for slow work.
  std::vector<format::Dump> dumps;
  dumps.push_back(ReadDumpFile(before_path));
  dumps.push_back(ReadDumpFile(after_path));
  const DumpInfo b = DescribeDump(dumps[0]);
  const DumpInfo a = DescribeDump(dumps[1]);
  std::vector<std::string>& warn = loaded.warnings;
  // One executable is one program, whatever name each run went by (argv[0],
  // or an attached server's process title).
  const bool same_exe = !b.exe_path.empty() && b.exe_path == a.exe_path;
  if (b.program != a.program && !same_exe) {
    const std::string message =
        fmt::format("{} is from '{}' but {} is from '{}': different programs, only call sites in code they share "
                    "would match",
                    before_path, b.exe_path.empty() ? b.program : b.exe_path, after_path,
                    a.exe_path.empty() ? a.program : a.exe_path);
    if (!force) throw InputError(message + " (add --force to compare them anyway)");
    warn.push_back(message);
  } else if (b.exe_path != a.exe_path && !b.exe_path.empty() && !a.exe_path.empty()) {
    warn.push_back(fmt::format("{} and {} are from two builds of {} ({} and {}); call sites match by function, file "
                               "and line",
                               before_path, after_path, a.program, b.exe_path, a.exe_path));
  } else if (b.pid != a.pid) {
    warn.push_back(fmt::format("{} and {} are from two runs of {} (pids {} and {}): growth includes what differs "
                               "between the runs",
                               before_path, after_path, a.program, b.pid, a.pid));
  } else if (b.start_realtime_ns != a.start_realtime_ns) {
    // One pid, two starts: the program executed itself again (haproxy's
    // master on a reload), or the pid was reused.
    warn.push_back(fmt::format("{} and {} are from two runs of {} under one pid ({}: it executed itself again, or "
                               "the pid was reused): growth includes what differs between the runs",
                               before_path, after_path, a.program, a.pid));
  }
  if (b.exact != a.exact)
    warn.push_back(fmt::format("{} is {} but {} is {}: growth mixes exact counts with sampled estimates",
                               before_path, b.exact ? "exact" : "sampled", after_path,
                               a.exact ? "exact" : "sampled"));
  if (b.snapshot_realtime_ns > 0 && a.snapshot_realtime_ns > 0 && a.snapshot_realtime_ns < b.snapshot_realtime_ns)
    warn.push_back(fmt::format("{} was taken {:.1f} s after {}; are BEFORE and AFTER swapped?", before_path,
                               static_cast<double>(b.snapshot_realtime_ns - a.snapshot_realtime_ns) / 1e9,
                               after_path));
  std::vector<Report> both = LoadAll(std::move(dumps), grouping, loaded.module_warnings, older_than, stacks, progress);
  loaded.report = Diff(both[0], both[1]);
  return loaded;
}

LoadedTrend LoadTrend(const std::vector<std::string>& paths, const Grouping& grouping, const StackOptions& stacks,
                      const ProgressFn& progress) {
  if (paths.size() < 3)
    throw InputError(fmt::format("trend needs three or more snapshots of one process, got {}", paths.size()));
  std::vector<format::Dump> dumps;
  dumps.reserve(paths.size());
  for (const std::string& p : paths) dumps.push_back(ReadDumpFile(p));
  std::vector<DumpInfo> infos;
  for (const format::Dump& d : dumps) infos.push_back(DescribeDump(d));
  if (auto problem = SeriesProblem(infos)) throw InputError(*problem);
  // The exit snapshot is taken after the program's own teardown: an
  // interpreter frees nearly everything then (a Python list that grew all
  // run reads as freed), so as the last point of the series it turns a leak
  // into "bounded". With three or more snapshots taken while the program
  // ran, the series is theirs; `diff` still compares the exit snapshot.
  DumpInfo exit_left_out;
  size_t newest = 0;
  for (size_t i = 1; i < dumps.size(); ++i)
    if (infos[i].snapshot_monotonic_ns > infos[newest].snapshot_monotonic_ns) newest = i;
  if (dumps.size() > 3 && infos[newest].trigger == format::Trigger::kExit) {
    exit_left_out = infos[newest];
    dumps.erase(dumps.begin() + static_cast<std::ptrdiff_t>(newest));
  }

  symbolizer::Symbolizer symbolizer;
  FrameSource source = MakeSymbolizerSource(symbolizer);
  std::vector<Report> live, allocated;
  for (const format::Dump& d : dumps) {
    live.push_back(FromDump(d, source, stacks, progress));
    Regroup(live.back(), grouping);
    allocated.push_back(AllocatedReport(d, source, stacks, progress));
    Regroup(allocated.back(), grouping);
  }
  // Sampled: when each dump's samples were born, for what the estimates
  // share from one snapshot to the next (trend_covariance.h).
  std::vector<DumpSamples> samples;
  SiteKeyCache keys;
  for (const format::Dump& d : dumps) samples.push_back(SamplesOf(d, source, stacks, grouping, &keys));
  LoadedTrend loaded;
  loaded.trend = ComputeTrend(live, allocated, std::move(samples));
  loaded.trend.exit_left_out = exit_left_out;
  loaded.module_warnings = symbolizer.TakeModuleWarnings();
  return loaded;
}

}  // namespace leaktrace::reporter
