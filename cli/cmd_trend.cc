// leaktrace trend [options] DUMP...: growth over a series of snapshots.
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/warnings.h"
#include "reporter/load.h"
#include "reporter/render_trend.h"

namespace leaktrace::cli {

Action AddTrendCommand(CLI::App& app) {
  struct Options {
    OutputOptions output;
    reporter::StackOptions stacks;
    std::vector<std::string> dumps;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "trend",
      "Judge growth over three or more snapshots of one process: per call site, the least-squares growth rate "
      "(bytes/s for heap and mmap, descriptors/min for fd, threads/min for thread) with its standard error, and a verdict: leak (steady "
      "growth that goes on in the last half of the series), warm-up (grew, then stopped allocating), bounded "
      "(fills and keeps turning over within a bound, or oscillates), shrinking, not significant (changed, but "
      "within sampling noise, or a sampled estimate that never moved: sampled dumps state their detection limit), "
      "flat (exact figures that never changed). Text lists every site that is not flat, leaks first (sampled sites "
      "that never moved are counted in one line); JSON lists all. The process's RSS, live heap, allocator free "
      "memory and unexplained memory are judged the same way and shown over time (a sparkline per series). The "
      "exit snapshot, given with three or more others, is left out of the series (it is taken after the program's "
      "own teardown), and so is a snapshot taken much closer to the next than the others are.");
  AddOutputOptions(*cmd, opts->output, {"text", "json"});
  cmd->add_option("DUMP", opts->dumps, "Three or more dumps of one process (<program>.<pid>.<seq>.dump), any order")
      ->required();
  AddStackOptions(*cmd, opts->stacks);
  cmd->footer("Exit status: 0 success; 2 bad usage or unreadable input.\nExample:\n  leaktrace trend server.4242.*.dump");
  return [opts] {
    reporter::RenderOptions render = ToRenderOptions(opts->output);
    reporter::Grouping grouping = ToGrouping(opts->output);
    reporter::LoadedTrend loaded =
        reporter::LoadTrend(opts->dumps, grouping, opts->stacks, ShowProgress("symbolizing", "stacks"));
    const std::string out = opts->output.format == "json" ? reporter::RenderTrendJson(loaded.trend, render)
                                                          : reporter::RenderTrendText(loaded.trend, render);
    reporter::Report growth = reporter::SeriesGrowth(loaded.trend);
    WarnAboutModules(loaded.module_warnings, reporter::SelectSites(growth, render, nullptr));
    WriteStdout(out);
    return 0;
  };
}

}  // namespace leaktrace::cli
