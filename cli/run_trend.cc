#include "cli/run_trend.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <tuple>

#include <fmt/format.h>

#include "cli/output.h"
#include "cli/progress.h"
#include "cli/warnings.h"
#include "format/dump_reader.h"
#include "reporter/load.h"
#include "reporter/render.h"
#include "reporter/render_trend.h"

namespace leaktrace::cli {

namespace {

// One process image of the run: a pid under one program name and one start
// (an exec'd program writes under its new name, or under the same one when
// it re-executes itself, as haproxy's master does on a reload, and its
// series starts afresh).
struct Process {
  std::string program;
  uint32_t pid = 0;
  std::vector<std::string> paths;  // in seq order (ListDumps sorts by seq)
};

// When the image that wrote `path` started (CLOCK_MONOTONIC), or 0 when its
// header cannot be read (the trend then says what is wrong with it).
int64_t ImageStart(const std::string& path) {
  try {
    return format::ReadDump(path).process.start_monotonic_ns;
  } catch (const std::exception&) {
    return 0;
  }
}

void PrintTrend(const Process& p) {
  OutputOptions defaults;  // text, the default --top of `leaktrace trend`
  reporter::RenderOptions render = ToRenderOptions(defaults);
  render.color = ShouldColor(STDERR_FILENO);
  try {
    reporter::LoadedTrend loaded =
        reporter::LoadTrend(p.paths, ToGrouping(defaults), {}, ShowProgress("symbolizing", "stacks"));
    const std::string text = reporter::RenderTrendText(loaded.trend, render);
    std::fprintf(stderr, "\nleaktrace: trend of %s (pid %u) over %zu snapshots\n%s", p.program.c_str(), p.pid,
                 p.paths.size(), text.c_str());
    reporter::Report growth = reporter::SeriesGrowth(loaded.trend);
    WarnAboutModules(loaded.module_warnings, reporter::SelectSites(growth, render, nullptr));
  } catch (const std::exception& e) {
    // InputError, DumpError (a damaged dump), bad_alloc: the run itself went fine.
    Warn(fmt::format("no trend for {} (pid {}): {}", p.program, p.pid, e.what()));
  }
  std::fflush(stderr);
}

}  // namespace

void PrintRunTrends(const std::vector<DumpFile>& dumps, pid_t started, long interval_seconds, double ran_seconds) {
  // The started program sorts first; a pid's images in the order they started.
  std::map<std::tuple<bool, uint32_t, std::string, int64_t>, Process> processes;
  for (const DumpFile& f : dumps) {
    const bool other = f.name.pid != static_cast<uint32_t>(started);
    Process& p = processes[{other, f.name.pid, f.name.program, ImageStart(f.path)}];
    p.program = f.name.program;
    p.pid = f.name.pid;
    p.paths.push_back(f.path);
  }

  size_t with_trend = 0, without = 0;
  const Process* most = nullptr;
  for (const auto& [key, p] : processes) {
    if (p.paths.size() >= 3) {
      PrintTrend(p);
      ++with_trend;
    } else {
      ++without;
      if (!most || p.paths.size() > most->paths.size()) most = &p;
    }
  }
  if (with_trend == 0) {
    // Long enough for an interval snapshot or two besides the exit dump,
    // and none came: the timer (leaktrace's thread) never started.
    const bool timer_never_ran = most != nullptr && most->pid == static_cast<uint32_t>(started) &&
                                 most->paths.size() <= 1 && ran_seconds >= 2.0 * static_cast<double>(interval_seconds);
    if (timer_never_ran)
      std::fprintf(stderr,
                   "leaktrace: no trend: %s (pid %u) ran %.1f s and wrote its exit snapshot alone: its interval "
                   "timer is leaktrace's thread, which starts at the program's first wait or tracked event "
                   "(allocation sampled, descriptor, mapping) after its first 100 ms, and it made none "
                   "(docs/preload.md, \"Snapshots\"); `leaktrace snapshot PID` still takes one\n",
                   most->program.c_str(), most->pid, ran_seconds);
    else if (most)  // else `run` has already said that no dump was written
      std::fprintf(stderr,
                   "leaktrace: no trend: a trend needs 3 or more snapshots of one process, and %s (pid %u) wrote "
                   "%zu; run longer or with a shorter --interval\n",
                   most->program.c_str(), most->pid, most->paths.size());
  } else if (without > 0) {
    std::fprintf(stderr, "leaktrace: no trend for %zu other process(es) with fewer than 3 snapshots\n", without);
  }
}

}  // namespace leaktrace::cli
