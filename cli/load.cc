#include "cli/load.h"

#include <cstdio>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "cli/errors.h"
#include "format/dump_reader.h"
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
std::vector<reporter::Report> LoadAll(const std::vector<std::string>& paths) {
  std::vector<format::Dump> dumps;
  dumps.reserve(paths.size());
  for (const std::string& p : paths) dumps.push_back(Read(p));  // fail before slow work

  symbolizer::Symbolizer symbolizer;
  reporter::FrameSource source = reporter::MakeSymbolizerSource(symbolizer);
  std::vector<reporter::Report> reports;
  for (const format::Dump& d : dumps) reports.push_back(reporter::FromDump(d, source));
  for (const std::string& w : symbolizer.TakeWarnings()) Warn(w);
  return reports;
}

std::string Programs(const reporter::Report& r) {
  std::set<std::string> names;
  for (const reporter::DumpInfo& d : r.dumps) names.insert(d.program);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

void Warn(const std::string& message) { std::fprintf(stderr, "leaktrace: warning: %s\n", message.c_str()); }

reporter::Report LoadReport(const std::vector<std::string>& paths) {
  reporter::Report merged = reporter::Merge(LoadAll(paths));
  std::set<std::string> programs;
  for (const reporter::DumpInfo& d : merged.dumps) programs.insert(d.program);
  if (programs.size() > 1)
    Warn(fmt::format("merging dumps of different programs ({})", fmt::join(programs, ", ")));
  return merged;
}

reporter::Report LoadDiff(const std::string& before_path, const std::string& after_path) {
  std::vector<reporter::Report> both = LoadAll({before_path, after_path});
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
  return reporter::Diff(before, after);
}

}  // namespace leaktrace::cli
