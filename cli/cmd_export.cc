// leaktrace export --format folded|html [-o FILE] [--base BEFORE] DUMP...
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/load.h"
#include "cli/output.h"
#include "reporter/export_flame.h"

namespace leaktrace::cli {

namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw UsageError(path + ": cannot write");
}

}  // namespace

Action AddExportCommand(CLI::App& app) {
  struct Options {
    std::string format;
    std::string output;
    std::string base;
    std::string resource = "heap";
    std::vector<std::string> dumps;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write dumps for other tools: folded stacks ('outer;...;inner VALUE' per line, for flamegraph.pl, "
      "speedscope, inferno) or a self-contained HTML flame graph (no network needed). VALUE is the live bytes of "
      "each call site (descriptors for --resource fd). Several dumps are merged as by 'report'; with --base "
      "BEFORE, the values are the growth from BEFORE to the (one) DUMP and only what grew is shown.");
  cmd->add_option("--format", opts->format, "folded or html")
      ->check(CLI::IsMember({"folded", "html"}))
      ->required();
  cmd->add_option("-o,--output", opts->output, "Write to FILE instead of standard output")->type_name("FILE");
  cmd->add_option("--base", opts->base, "Show growth since this earlier dump of the same program")
      ->type_name("BEFORE");
  cmd->add_option("--resource", opts->resource, "Which resource: heap (default), mmap, fd")
      ->check(CLI::IsMember({"heap", "mmap", "fd"}))
      ->default_str("heap");
  cmd->add_option("DUMP", opts->dumps, "Dump file(s)")->required();
  return [opts] {
    if (!opts->base.empty() && opts->dumps.size() != 1)
      throw UsageError("export --base BEFORE takes exactly one DUMP (the later snapshot)");
    reporter::Resource resource = opts->resource == "fd"     ? reporter::Resource::kFd
                                  : opts->resource == "mmap" ? reporter::Resource::kMmap
                                                             : reporter::Resource::kHeap;
    Loaded loaded = opts->base.empty() ? LoadReport(opts->dumps, reporter::Grouping{})
                                       : LoadDiff(opts->base, opts->dumps[0], reporter::Grouping{});
    std::string title = "leaktrace: " + (loaded.report.dumps.empty() ? std::string() : loaded.report.dumps[0].program);
    if (!opts->base.empty()) title += " (growth since " + opts->base + ")";
    const std::string text = opts->format == "html" ? reporter::RenderFlameHtml(loaded.report, resource, title)
                                                    : reporter::RenderFolded(loaded.report, resource);
    if (opts->output.empty()) {
      WriteStdout(text);
    } else {
      WriteFile(opts->output, text);
    }
    return 0;
  };
}

}  // namespace leaktrace::cli
