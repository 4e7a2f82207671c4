// A table-driven FrameSource standing in for the real symbolizer (dumps come
// from tests/support/dump_builder.h).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "format/dump.h"
#include "reporter/model.h"
#include "reporter/report_from_dump.h"

namespace leaktrace::reporter::testing {

inline Frame Fn(std::string function, std::string file = "", uint32_t line = 0, bool inlined = false) {
  Frame f;
  f.function = std::move(function);
  f.file = std::move(file);
  f.line = line;
  f.inlined = inlined;
  return f;
}

// Symbols by (module base name, module offset); module path and offset are
// filled in from the dump the way the real symbolizer does.
class FakeSymbols {
 public:
  void Add(const std::string& module, uint64_t offset, std::vector<Frame> frames) {
    table_[{module, offset}] = std::move(frames);
  }
  FrameSource Source() const {
    return [this](const format::Dump& dump, uint64_t pc) {
      const format::Module* m = dump.FindModule(pc);
      uint64_t offset = m ? pc - m->load_bias : pc;
      std::vector<Frame> frames;
      auto it = m ? table_.find({ModuleBasename(m->path), offset}) : table_.end();
      if (it != table_.end()) frames = it->second;
      if (frames.empty()) frames.push_back(Frame{});
      for (Frame& f : frames) {
        f.module = m ? m->path : "";
        f.build_id = m ? m->BuildIdHex() : "";
        f.module_offset = offset;
      }
      return frames;
    };
  }

 private:
  std::map<std::pair<std::string, uint64_t>, std::vector<Frame>> table_;
};

}  // namespace leaktrace::reporter::testing
