// leaktrace export --format pprof|folded|html|speedscope|memory-html [-o FILE] [--base BEFORE] [--resource R] DUMP...
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>


#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/warnings.h"
#include "reporter/export_flame.h"
#include "reporter/export_speedscope.h"
#include "reporter/load.h"
#include "reporter/memory_chart.h"
#include "reporter/pprof/load_pprof.h"

#ifndef LEAKTRACE_VERSION
#define LEAKTRACE_VERSION "unknown"
#endif

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
    reporter::StackOptions stacks;
    std::vector<std::string> dumps;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write dumps for other tools: a gzipped pprof profile.proto (for 'go tool pprof', including -base, "
      "Pyroscope, Parca; sample types inuse_space, inuse_objects, alloc_space, alloc_objects for heap, "
      "inuse_mapped_space, inuse_mappings for mmap, inuse_fds for fd, inuse_thread_stack_space, inuse_threads for "
      "thread), folded stacks ('outer;...;inner VALUE' per line, for flamegraph.pl, inferno), a self-contained HTML "
      "flame graph (d3-flame-graph inlined: opens from a file with no network; zoom, search, every frame labelled "
      "with its size and file:line), a speedscope profile (JSON for https://www.speedscope.app or the "
      "'speedscope' npm package: one profile per value, heap bytes and allocations, mmap, fds, threads, and what "
      "the heap allocated since start; --resource does not apply), or a memory chart (memory-html: RSS, live heap, "
      "allocator free memory and thread stacks of one process across two or more dumps, as self-contained HTML). "
      "For folded and html, VALUE is the live bytes of "
      "each call site (descriptors for --resource fd, threads for --resource thread). "
      "Several dumps are merged as by 'report'; with --base BEFORE, the values are the growth from BEFORE to the "
      "(one) DUMP: folded, html and speedscope show only what grew, pprof holds DUMP minus BEFORE (negative where "
      "something shrank), as 'go tool pprof -base' would compute from two plain exports.");
  cmd->add_option("--format", opts->format,
                  "pprof, folded, html, speedscope, or memory-html (a time chart of RSS, live heap, allocator free "
                  "memory, thread stacks and unexplained memory across two or more dumps of one process)")
      ->check(CLI::IsMember({"pprof", "folded", "html", "speedscope", "memory-html"}))
      ->required();
  cmd->add_option("-o,--output", opts->output, "Write to FILE instead of standard output")->type_name("FILE");
  cmd->add_option("--base", opts->base, "Show growth since this earlier dump of the same program")
      ->type_name("BEFORE");
  cmd->add_option("--resource", opts->resource, "Which resource: heap (default), mmap, fd, thread")
      ->check(CLI::IsMember({"heap", "mmap", "fd", "thread"}))
      ->default_str("heap");
  AddStackOptions(*cmd, opts->stacks);
  cmd->add_option("DUMP", opts->dumps, "Dump file(s)")->required();
  cmd->footer(
      "Exit status: 0 success; 2 bad usage or unreadable input.\nExample:\n"
      "  leaktrace export --format pprof -o live.pb.gz server.4242.2.dump\n"
      "  leaktrace export --format html -o growth.html --base server.4242.1.dump server.4242.2.dump");
  return [opts] {
    if (opts->format == "html" && !reporter::FlameHtmlAvailable())
      throw UsageError(
          "export --format html: this leaktrace was built without the flame graph's browser code "
          "(-DLEAKTRACE_HTML_FLAMEGRAPH=OFF); use --format speedscope or folded");
    if (!opts->base.empty() && opts->dumps.size() != 1)
      throw UsageError("export --base BEFORE takes exactly one DUMP (the later snapshot)");
    reporter::Resource resource = opts->resource == "fd"       ? reporter::Resource::kFd
                                  : opts->resource == "mmap"   ? reporter::Resource::kMmap
                                  : opts->resource == "thread" ? reporter::Resource::kThread
                                                               : reporter::Resource::kHeap;
    if (opts->format == "memory-html") {
      if (!opts->base.empty()) throw UsageError("export --format memory-html takes no --base: give every dump of the series");
      std::vector<reporter::DumpInfo> infos;
      for (const std::string& p : opts->dumps) infos.push_back(reporter::DescribeDump(reporter::ReadDumpFile(p)));
      std::string html;
      try {
        html = reporter::RenderMemoryChartHtml(infos);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
      if (opts->output.empty()) {
        WriteStdout(html);
      } else {
        WriteFile(opts->output, html);
      }
      return 0;
    }
    if (opts->format == "pprof") {
      // Binary data would garble a terminal (gzip refuses the same way).
      if (opts->output.empty() && isatty(STDOUT_FILENO))
        throw UsageError("export --format pprof writes binary data: give -o FILE or redirect standard output");
      const reporter::pprof::LoadedPprof exported =
          reporter::pprof::LoadPprof(opts->dumps, opts->base, resource, opts->stacks);
      Warn(exported.warnings);
      if (opts->output.empty()) {
        WriteStdout(exported.bytes);
      } else {
        WriteFile(opts->output, exported.bytes);
      }
      // After writing, so that a failure stays the one line on stderr.
      WarnAboutModules(exported.module_warnings, exported.shown_modules);
      return 0;
    }
    const reporter::ProgressFn progress = ShowProgress("symbolizing", "stacks");
    reporter::Loaded loaded =
        opts->base.empty()
            ? reporter::LoadReport(opts->dumps, reporter::Grouping{}, std::nullopt, opts->stacks, progress)
            : reporter::LoadDiff(opts->base, opts->dumps[0], reporter::Grouping{}, std::nullopt, opts->stacks, true,
                                 progress);
    Warn(loaded.warnings);
    const std::string text = opts->format == "html"         ? reporter::RenderFlameHtml(loaded.report, resource)
                             : opts->format == "speedscope" ? reporter::RenderSpeedscope(loaded.report, "leaktrace " LEAKTRACE_VERSION)
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
