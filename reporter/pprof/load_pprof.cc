#include "reporter/pprof/load_pprof.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "reporter/load.h"
#include "reporter/pprof/export_pprof.h"
#include "reporter/symbolizer_source.h"

namespace leaktrace::reporter::pprof {

LoadedPprof LoadPprof(const std::vector<std::string>& paths, const std::string& base_path, Resource resource,
                      const StackOptions& stacks) {
  std::vector<format::Dump> dumps, base;
  for (const std::string& p : paths) dumps.push_back(ReadDumpFile(p));
  if (!base_path.empty()) base.push_back(ReadDumpFile(base_path));
  LoadedPprof result;
  if (std::optional<std::string> w = KeepNewestSnapshotPerProcess(dumps)) result.warnings.push_back(*w);
  std::set<std::string> programs;
  for (const format::Dump& d : dumps) programs.insert(d.process.program);
  for (const format::Dump& d : base) programs.insert(d.process.program);
  if (programs.size() > 1)
    result.warnings.push_back(fmt::format(
        "dumps of different programs ({}); only call sites in code they share will match", fmt::join(programs, ", ")));

  symbolizer::Symbolizer symbolizer;
  const FrameSource symbolize = MakeSymbolizerSource(symbolizer);
  // Only addresses CleanDumpStacks kept reach `source`.
  const FrameSource source = [&](const format::Dump& dump, uint64_t pc) {
    std::vector<Frame> frames = symbolize(dump, pc);
    for (const Frame& f : frames) result.shown_modules.insert(f.module);
    return frames;
  };
  for (format::Dump& d : dumps) CleanDumpStacks(d, symbolize, stacks);
  for (format::Dump& d : base) CleanDumpStacks(d, symbolize, stacks);
  std::vector<const format::Dump*> dump_ptrs, base_ptrs;
  for (const format::Dump& d : dumps) dump_ptrs.push_back(&d);
  for (const format::Dump& d : base) base_ptrs.push_back(&d);
  result.bytes = RenderPprof(dump_ptrs, base_ptrs, resource, source);
  result.module_warnings = symbolizer.TakeModuleWarnings();
  return result;
}

}  // namespace leaktrace::reporter::pprof
