// leaktrace report DUMP...   and   leaktrace diff BEFORE AFTER
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/warnings.h"
#include "reporter/load.h"
#include "reporter/render.h"

namespace leaktrace::cli {

namespace {

void Render(const reporter::Loaded& loaded, const OutputOptions& output, const reporter::RenderOptions& render) {
  const std::string text = output.format == "json" ? reporter::RenderJson(loaded.report, render)
                                                   : reporter::RenderText(loaded.report, render);
  Warn(loaded.warnings);
  WarnAboutModules(loaded.module_warnings, reporter::SelectSites(loaded.report, render, nullptr));
  WriteStdout(text);
}

}  // namespace

Action AddReportCommand(CLI::App& app) {
  struct Options {
    OutputOptions output;
    reporter::StackOptions stacks;
    std::string older_than;
    std::string sort = "live";
    std::vector<std::string> dumps;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Show what is live in one or more dumps, by call site, biggest first. Several dumps (e.g. the worker "
      "processes of one server) are merged into one report, each process once, at its newest snapshot (with a "
      "warning when an earlier one was given too). Above the sites, where the RSS went: live heap (and its "
      "peak), memory the allocator holds free, mappings, thread stacks, leaktrace, and what none of them explains.");
  AddOutputOptions(*cmd, opts->output, {"text", "json"});
  AddOlderThanOption(*cmd, opts->older_than,
                     "Count only objects live for at least DURATION at the snapshot (90s, 10m, 2h, 1d; a bare number "
                     "is seconds): what is 'not freed after DURATION'. Exact-mode heap figures then become estimates "
                     "(exact mode ages a sample of blocks)");
  cmd->add_option("--sort", opts->sort,
                  "Order of sites: 'live' (default), what they hold now; 'allocated', everything they allocated since "
                  "the process started (the biggest allocators, freed or not)")
      ->check(CLI::IsMember({"live", "allocated"}))
      ->default_str("live");
  AddStackOptions(*cmd, opts->stacks);
  cmd->add_option("DUMP", opts->dumps, "Dump files (<program>.<pid>.<seq>.dump)")->required();
  cmd->footer("Exit status: 0 success; 2 bad usage or unreadable input.\nExample:\n  leaktrace report --top 5 server.4242.2.dump");
  return [opts] {
    reporter::RenderOptions render = ToRenderOptions(opts->output);  // reject bad options before slow work
    render.sort_allocated = opts->sort == "allocated";
    reporter::Grouping grouping = ToGrouping(opts->output);
    const std::optional<double> older_than = ParseOlderThan(opts->older_than);
    reporter::Loaded loaded =
        reporter::LoadReport(opts->dumps, grouping, older_than, opts->stacks, ShowProgress("symbolizing", "stacks"));
    if (render.sort_allocated) reporter::SortSitesByAllocated(loaded.report.sites);
    Render(loaded, opts->output, render);
    return 0;
  };
}

Action AddDiffCommand(CLI::App& app) {
  struct Options {
    OutputOptions output;
    reporter::StackOptions stacks;
    std::string older_than;
    bool force = false;
    std::string before;
    std::string after;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "diff",
      "Show what grew between two snapshots (AFTER minus BEFORE), by call site, biggest growth first. The two may "
      "come from one process or from two runs of the same build; sites that shrank are shown with negative growth. "
      "Above the sites, how the RSS grew, part by part (live heap, allocator free memory, mappings, thread stacks, "
      "leaktrace, unexplained), with a one-line reading when one part carries it (fragmentation, say).");
  AddOutputOptions(*cmd, opts->output, {"text", "json"});
  AddOlderThanOption(*cmd, opts->older_than,
                     "Compare only the objects live for at least DURATION at each snapshot (90s, 10m, 2h, 1d): the "
                     "growth of the long-lived population, which a leak feeds and a cache with turnover does not");
  AddStackOptions(*cmd, opts->stacks);
  cmd->add_flag("--force", opts->force, "Compare dumps of two different programs (refused otherwise)");
  cmd->add_option("BEFORE", opts->before, "The earlier dump")->required();
  cmd->add_option("AFTER", opts->after, "The later dump")->required();
  cmd->footer("Exit status: 0 success; 2 bad usage or unreadable input.\nExample:\n  leaktrace diff server.4242.1.dump server.4242.2.dump");
  return [opts] {
    reporter::RenderOptions render = ToRenderOptions(opts->output);
    reporter::Grouping grouping = ToGrouping(opts->output);
    const std::optional<double> older_than = ParseOlderThan(opts->older_than);
    Render(reporter::LoadDiff(opts->before, opts->after, grouping, older_than, opts->stacks, opts->force,
                              ShowProgress("symbolizing", "stacks")),
           opts->output, render);
    return 0;
  };
}

}  // namespace leaktrace::cli
