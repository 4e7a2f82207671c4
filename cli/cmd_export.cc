// leaktrace export --format pprof|folded|html|speedscope|memory-html [-o FILE] [--base BEFORE] [--resource R] DUMP...
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/warnings.h"
#include "reporter/export_flame.h"
#include "reporter/export_speedscope.h"
#include "reporter/load.h"
#include "reporter/memory_chart.h"
#include "reporter/pprof/export_pprof.h"
#include "reporter/symbolizer_source.h"
#include "symbolizer/symbolizer.h"

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

struct PprofExport {
  std::string bytes;
  std::vector<symbolizer::ModuleWarning> warnings;
  std::set<std::string> shown_modules;  // modules of the frames in the profile
};

// The pprof path works on the dumps themselves rather than on a merged
// report: a profile needs the raw return addresses and module map (for its
// locations and mappings), which the report has already symbolized away.
PprofExport ExportPprof(const std::vector<std::string>& paths, const std::string& base_path,
                        reporter::Resource resource, const reporter::StackOptions& stacks) {
  std::vector<format::Dump> dumps, base;
  for (const std::string& p : paths) dumps.push_back(reporter::ReadDumpFile(p));  // fail before slow work
  if (!base_path.empty()) base.push_back(reporter::ReadDumpFile(base_path));
  std::set<std::string> programs;
  for (const format::Dump& d : dumps) programs.insert(d.process.program);
  for (const format::Dump& d : base) programs.insert(d.process.program);
  if (programs.size() > 1)
    Warn(fmt::format("dumps of different programs ({}); only call sites in code they share will match",
                     fmt::join(programs, ", ")));

  PprofExport result;
  symbolizer::Symbolizer symbolizer;
  const reporter::FrameSource symbolize = reporter::MakeSymbolizerSource(symbolizer);
  // Only addresses CleanDumpStacks kept reach `source`.
  const reporter::FrameSource source = [&](const format::Dump& dump, uint64_t pc) {
    std::vector<reporter::Frame> frames = symbolize(dump, pc);
    for (const reporter::Frame& f : frames) result.shown_modules.insert(f.module);
    return frames;
  };
  for (format::Dump& d : dumps) reporter::CleanDumpStacks(d, symbolize, stacks);
  for (format::Dump& d : base) reporter::CleanDumpStacks(d, symbolize, stacks);
  std::vector<const format::Dump*> dump_ptrs, base_ptrs;
  for (const format::Dump& d : dumps) dump_ptrs.push_back(&d);
  for (const format::Dump& d : base) base_ptrs.push_back(&d);
  result.bytes = reporter::pprof::RenderPprof(dump_ptrs, base_ptrs, resource, source);
  result.warnings = symbolizer.TakeModuleWarnings();
  return result;
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
      "with its size and file:line), or a speedscope profile (JSON for https://www.speedscope.app or the "
      "'speedscope' npm package: one profile per value, heap bytes and allocations, mmap, fds, threads, and what "
      "the heap allocated since start; --resource does not apply). For folded and html, VALUE is the live bytes of "
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
      const PprofExport exported = ExportPprof(opts->dumps, opts->base, resource, opts->stacks);
      if (opts->output.empty()) {
        WriteStdout(exported.bytes);
      } else {
        WriteFile(opts->output, exported.bytes);
      }
      // After writing, so that a failure stays the one line on stderr.
      WarnAboutModules(exported.warnings, exported.shown_modules);
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
