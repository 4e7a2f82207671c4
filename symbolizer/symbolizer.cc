#include "symbolizer/symbolizer.h"

#include <cinttypes>
#include <cstdio>
#include <new>

#include "symbolizer/module_cache.h"

namespace leaktrace::symbolizer {

Symbolizer::Symbolizer() : modules_(std::make_unique<ModuleCache>()) {}
Symbolizer::~Symbolizer() = default;

std::vector<Frame> Symbolizer::Symbolize(const format::Dump& dump, uint64_t pc) {
  const format::Module* m = dump.FindModule(pc);
  if (m == nullptr) {
    Frame raw;
    raw.module_offset = pc;
    return {raw};
  }

  // What every frame of this pc shares; also the answer when nothing is known.
  Frame base;
  // The main program may be recorded without a path (dl_iterate_phdr reports
  // it as ""); the process record still knows where it was.
  base.module = m->path.empty() ? dump.process.exe_path : m->path;
  base.build_id = m->BuildIdHex();
  base.module_offset = pc - m->load_bias;

  ElfModule& module = modules_->Get(base.module, m->build_id);
  if (module.state() == ElfModule::State::kBuildIdMismatch) base.build_id_mismatch = true;
  // pc is a return address: pc - 1 lies inside the call instruction, so the
  // line (and the inline chain) is the call's, not the next statement's.
  // A module offset of 0 cannot be a return address; do not wrap around.
  if (module.state() != ElfModule::State::kReady || base.module_offset == 0) return {base};

  const std::vector<Frame>& found = module.Lookup(base.module_offset - 1);
  modules_->Warn(module.TakeWarning());
  if (found.empty()) return {base};

  std::vector<Frame> frames;
  frames.reserve(found.size());
  for (const Frame& f : found) {
    Frame& out = frames.emplace_back(base);
    out.function = f.function;
    out.file = f.file;
    out.line = f.line;
    out.column = f.column;
    out.inlined = f.inlined;
  }
  return frames;
}

std::vector<std::string> Symbolizer::TakeWarnings() {
  std::vector<std::string> messages;
  for (ModuleWarning& w : modules_->TakeWarnings()) messages.push_back(std::move(w.message));
  return messages;
}

std::vector<ModuleWarning> Symbolizer::TakeModuleWarnings() { return modules_->TakeWarnings(); }

}  // namespace leaktrace::symbolizer
