// leaktrace check [thresholds] [--suppressions FILE] BEFORE AFTER: the CI gate.
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/load.h"
#include "cli/load_series.h"
#include "cli/output.h"
#include "reporter/check.h"
#include "reporter/render.h"
#include "reporter/suppressions.h"

namespace leaktrace::cli {

Action AddCheckCommand(CLI::App& app) {
  struct Options {
    OutputOptions output;
    std::string max_bytes, max_site_bytes, max_fds, max_mmap_bytes, max_threads, max_rss, max_unexplained;
    std::string suppressions;
    std::string older_than;
    std::string before, after;
    bool trend = false;
    bool force = false;
    reporter::StackOptions stacks;
    std::vector<std::string> more;  // --trend: the rest of the series
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "CI gate: exit 0 when growth from BEFORE to AFTER stays within the thresholds, 1 when it does not (the "
      "offending call sites are printed), 2 on bad input. With no threshold given, any heap growth beyond sampling "
      "noise (exact dumps: any growth), any mmap growth, any fd growth and any growth in live threads fails; once any threshold is given, only "
      "the given thresholds are checked. For sampled heap data a threshold counts as exceeded only when growth is "
      "above it by more than 3 standard errors (the standard error is printed beside each estimate). "
      "--format junit writes JUnit XML: one test per rule and per call site that grew, failed for offenders.");
  cmd->add_option("--max-bytes", opts->max_bytes, "Largest allowed total heap growth (suffixes k, m, g)")
      ->type_name("N");
  cmd->add_option("--max-site-bytes", opts->max_site_bytes, "Largest allowed heap growth of any one call site")
      ->type_name("N");
  cmd->add_option("--max-fds", opts->max_fds, "Largest allowed growth in open file descriptors")->type_name("N");
  cmd->add_option("--max-mmap-bytes", opts->max_mmap_bytes, "Largest allowed growth of mapped memory")
      ->type_name("N");
  cmd->add_option("--max-threads", opts->max_threads,
                  "Largest allowed growth in live threads, all call sites together (a joinable thread counts until "
                  "it is joined)")
      ->type_name("N");
  cmd->add_option("--max-rss", opts->max_rss,
                  "Largest allowed growth of the process's resident memory (RSS), whatever holds it")
      ->type_name("SIZE");
  cmd->add_option("--max-unexplained", opts->max_unexplained,
                  "Largest allowed growth of the RSS that neither the heap, the allocator's free memory, "
                  "mappings, thread stacks nor leaktrace explains (the 'unexplained' part of the memory table)")
      ->type_name("SIZE");
  cmd->add_option("--suppressions", opts->suppressions,
                  "File of LeakSanitizer-style 'leak:PATTERN' lines; a site with a frame whose function, file or "
                  "module matches a pattern is ignored")
      ->type_name("FILE");
  AddOlderThanOption(*cmd, opts->older_than,
                     "Judge only the objects live for at least DURATION at each snapshot (90s, 10m, 2h, 1d): fail "
                     "when what is older than DURATION grew (not with --trend)");
  AddOutputOptions(*cmd, opts->output, {"text", "json", "junit"});
  cmd->add_option("BEFORE", opts->before, "The earlier dump")->required();
  cmd->add_option("AFTER", opts->after, "The later dump")->required();
  cmd->add_flag("--trend", opts->trend,
                "Gate on 'leaktrace trend' instead: the dumps are three or more snapshots of one process, and only "
                "call sites judged 'leak' count, with their growth from the first snapshot to the last");
  cmd->add_option("MORE", opts->more, "With --trend: further snapshots of the series");
  AddStackOptions(*cmd, opts->stacks);
  cmd->add_flag("--force", opts->force, "Compare dumps of two different programs (refused otherwise)");
  cmd->footer("Exit status: 0 within the thresholds; 1 check failed; 2 bad usage or unreadable input.\nExample:\n  leaktrace check --max-bytes 1m --suppressions supp.txt before.dump after.dump");

  return [opts] {
    // Validate everything cheap before reading and symbolizing dumps.
    reporter::Thresholds t;
    auto size = [](const char* name, const std::string& value, std::optional<double>& into) {
      if (!value.empty()) into = ParseSizeOption(name, value);
    };
    size("--max-bytes", opts->max_bytes, t.max_bytes);
    size("--max-site-bytes", opts->max_site_bytes, t.max_site_bytes);
    size("--max-fds", opts->max_fds, t.max_fds);
    size("--max-mmap-bytes", opts->max_mmap_bytes, t.max_mmap_bytes);
    size("--max-threads", opts->max_threads, t.max_threads);
    size("--max-rss", opts->max_rss, t.max_rss);
    size("--max-unexplained", opts->max_unexplained, t.max_unexplained);
    reporter::Suppressions suppressions;
    if (!opts->suppressions.empty()) suppressions = reporter::Suppressions::Load(opts->suppressions);
    reporter::RenderOptions render = ToRenderOptions(opts->output);
    reporter::Grouping grouping = ToGrouping(opts->output);
    const std::optional<double> older_than = ParseOlderThan(opts->older_than);

    if (opts->trend) {
      if (older_than) throw UsageError("--older-than does not apply to --trend");
      std::vector<std::string> series = {opts->before, opts->after};
      series.insert(series.end(), opts->more.begin(), opts->more.end());
      return RunTrendCheck(series, t, suppressions, opts->output, render, grouping, opts->stacks);
    }
    if (!opts->more.empty())
      throw UsageError("check takes two dumps, BEFORE and AFTER (add --trend to judge a series of snapshots)");
    Loaded loaded = LoadDiff(opts->before, opts->after, grouping, older_than, opts->stacks, opts->force);
    const reporter::Report& diff = loaded.report;
    if (t.needs_memory() && !reporter::ReportMemory(diff).known)
      throw UsageError("--max-rss and --max-unexplained need dumps with memory figures; " + opts->before + " or " +
                       opts->after + " was written by an older leaktrace");
    reporter::CheckResult result = reporter::Check(diff, t, suppressions);
    std::string out;
    if (opts->output.format == "json") {
      out = reporter::RenderCheckJson(result, diff, t, render);
    } else if (opts->output.format == "junit") {
      out = reporter::RenderCheckJunit(result, diff, render);
    } else {
      out = reporter::RenderCheckText(result, diff, render);
    }
    reporter::Report offending;
    offending.sites = result.offending;
    WarnAboutModules(loaded.module_warnings, reporter::SelectSites(offending, render, nullptr));
    WriteStdout(out);
    return result.passed ? kExitOk : kExitFailed;
  };
}

}  // namespace leaktrace::cli
