// leaktrace export --format pprof|folded|html|memory-html [-o FILE] [--base BEFORE] [--resource R] DUMP...
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
#include "cli/load.h"
#include "cli/output.h"
#include "reporter/export_flame.h"
#include "reporter/memory_chart.h"
#include "reporter/pprof/export_pprof.h"
#include "reporter/symbolizer_source.h"
#include "symbolizer/symbolizer.h"

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
// Removes from every stack the return addresses whose frames
// reporter::CleanStack drops whole (leaktrace's own, allocator wrappers at
// the top, start-up frames at the bottom): pprof locations are per address.
void CleanStacks(format::Dump& dump, const reporter::FrameSource& source, const reporter::StackOptions& options) {
  for (format::Stack& stack : dump.stacks) {
    std::vector<std::vector<reporter::Frame>> pcs;
    for (size_t i = 0; i < stack.pcs.size(); ++i) {
      pcs.push_back(source(dump, stack.pcs[i]));
      // CleanStack judges by function and module only: `line` can carry the
      // address's index, so the survivors are found again.
      for (reporter::Frame& f : pcs.back()) f.line = static_cast<uint32_t>(i);
    }
    reporter::CleanStack(pcs, options);
    std::vector<uint64_t> kept;
    for (const auto& g : pcs) kept.push_back(stack.pcs[g.front().line]);
    stack.pcs = std::move(kept);
  }
}

PprofExport ExportPprof(const std::vector<std::string>& paths, const std::string& base_path,
                        reporter::Resource resource, const reporter::StackOptions& stacks) {
  std::vector<format::Dump> dumps, base;
  for (const std::string& p : paths) dumps.push_back(ReadDumpFile(p));  // fail before slow work
  if (!base_path.empty()) base.push_back(ReadDumpFile(base_path));
  std::set<std::string> programs;
  for (const format::Dump& d : dumps) programs.insert(d.process.program);
  for (const format::Dump& d : base) programs.insert(d.process.program);
  if (programs.size() > 1)
    Warn(fmt::format("dumps of different programs ({}); only call sites in code they share will match",
                     fmt::join(programs, ", ")));

  PprofExport result;
  symbolizer::Symbolizer symbolizer;
  const reporter::FrameSource symbolize = reporter::MakeSymbolizerSource(symbolizer);
  const reporter::FrameSource source = [&](const format::Dump& dump, uint64_t pc) {
    std::vector<reporter::Frame> frames = symbolize(dump, pc);
    for (const reporter::Frame& f : frames)
      if (!reporter::IsLeaktraceFrame(f)) result.shown_modules.insert(f.module);
    return frames;
  };
  for (format::Dump& d : dumps) CleanStacks(d, symbolize, stacks);
  for (format::Dump& d : base) CleanStacks(d, symbolize, stacks);
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
      "thread), folded stacks ('outer;...;inner VALUE' "
      "per line, for flamegraph.pl, speedscope, inferno) or a self-contained HTML flame graph (no network "
      "needed). For folded and html, VALUE is the live bytes of each call site (descriptors for --resource fd, "
      "threads for --resource thread). "
      "Several dumps are merged as by 'report'; with --base BEFORE, the values are the growth from BEFORE to the "
      "(one) DUMP: folded and html show only what grew, pprof holds DUMP minus BEFORE (negative where something "
      "shrank), as 'go tool pprof -base' would compute from two plain exports.");
  cmd->add_option("--format", opts->format,
                  "pprof, folded, html, or memory-html (a time chart of RSS, live heap, allocator free memory, "
                  "thread stacks and unexplained memory across two or more dumps of one process)")
      ->check(CLI::IsMember({"pprof", "folded", "html", "memory-html"}))
      ->required();
  cmd->add_option("-o,--output", opts->output, "Write to FILE instead of standard output")->type_name("FILE");
  cmd->add_option("--base", opts->base, "Show growth since this earlier dump of the same program")
      ->type_name("BEFORE");
  cmd->add_option("--resource", opts->resource, "Which resource: heap (default), mmap, fd, thread")
      ->check(CLI::IsMember({"heap", "mmap", "fd", "thread"}))
      ->default_str("heap");
  AddStackOptions(*cmd, opts->stacks);
  cmd->add_option("DUMP", opts->dumps, "Dump file(s)")->required();
  cmd->footer("Exit status: 0 success; 2 bad usage or unreadable input.\nExample:\n  leaktrace export --format pprof -o live.pb.gz server.4242.2.dump");
  return [opts] {
    if (!opts->base.empty() && opts->dumps.size() != 1)
      throw UsageError("export --base BEFORE takes exactly one DUMP (the later snapshot)");
    reporter::Resource resource = opts->resource == "fd"       ? reporter::Resource::kFd
                                  : opts->resource == "mmap"   ? reporter::Resource::kMmap
                                  : opts->resource == "thread" ? reporter::Resource::kThread
                                                               : reporter::Resource::kHeap;
    if (opts->format == "memory-html") {
      if (!opts->base.empty()) throw UsageError("export --format memory-html takes no --base: give every dump of the series");
      std::vector<reporter::DumpInfo> infos;
      for (const std::string& p : opts->dumps) infos.push_back(reporter::DescribeDump(ReadDumpFile(p)));
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
    Loaded loaded = opts->base.empty()
                        ? LoadReport(opts->dumps, reporter::Grouping{}, std::nullopt, opts->stacks)
                        : LoadDiff(opts->base, opts->dumps[0], reporter::Grouping{}, std::nullopt, opts->stacks, true);
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
