#include "reporter/symbolizer_source.h"

namespace leaktrace::reporter {

FrameSource MakeSymbolizerSource(symbolizer::Symbolizer& symbolizer) {
  return [&symbolizer](const format::Dump& dump, uint64_t pc) {
    std::vector<Frame> frames;
    for (symbolizer::Frame& s : symbolizer.Symbolize(dump, pc)) {
      Frame f;
      f.function = std::move(s.function);
      f.file = std::move(s.file);
      f.line = s.line;
      f.column = s.column;
      f.module = std::move(s.module);
      f.build_id = std::move(s.build_id);
      f.module_offset = s.module_offset;
      f.inlined = s.inlined;
      frames.push_back(std::move(f));
    }
    return frames;
  };
}

}  // namespace leaktrace::reporter
