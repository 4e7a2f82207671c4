// leaktrace report DUMP...   and   leaktrace diff BEFORE AFTER
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/load.h"
#include "cli/output.h"
#include "reporter/render.h"

namespace leaktrace::cli {

namespace {

void Render(const Loaded& loaded, const OutputOptions& output, const reporter::RenderOptions& render) {
  const std::string text = output.format == "json" ? reporter::RenderJson(loaded.report, render)
                                                   : reporter::RenderText(loaded.report, render);
  WarnAboutModules(loaded.module_warnings, reporter::SelectSites(loaded.report, render, nullptr));
  WriteStdout(text);
}

}  // namespace

Action AddReportCommand(CLI::App& app) {
  struct Options {
    OutputOptions output;
    std::vector<std::string> dumps;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Show what is live in one or more dumps, by call site, biggest first. Several dumps (e.g. the worker "
      "processes of one server) are merged into one report.");
  AddOutputOptions(*cmd, opts->output, {"text", "json"});
  cmd->add_option("DUMP", opts->dumps, "Dump files (<program>.<pid>.<seq>.dump)")->required();
  return [opts] {
    reporter::RenderOptions render = ToRenderOptions(opts->output);  // reject bad options before slow work
    reporter::Grouping grouping = ToGrouping(opts->output);
    Render(LoadReport(opts->dumps, grouping), opts->output, render);
    return 0;
  };
}

Action AddDiffCommand(CLI::App& app) {
  struct Options {
    OutputOptions output;
    std::string before;
    std::string after;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "diff",
      "Show what grew between two snapshots (AFTER minus BEFORE), by call site, biggest growth first. The two may "
      "come from one process or from two runs of the same build; sites that shrank are shown with negative growth.");
  AddOutputOptions(*cmd, opts->output, {"text", "json"});
  cmd->add_option("BEFORE", opts->before, "The earlier dump")->required();
  cmd->add_option("AFTER", opts->after, "The later dump")->required();
  return [opts] {
    reporter::RenderOptions render = ToRenderOptions(opts->output);
    reporter::Grouping grouping = ToGrouping(opts->output);
    Render(LoadDiff(opts->before, opts->after, grouping), opts->output, render);
    return 0;
  };
}

}  // namespace leaktrace::cli
