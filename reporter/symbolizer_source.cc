#include "reporter/symbolizer_source.h"

namespace leaktrace::reporter {

FrameSource MakeSymbolizerSource(symbolizer::Symbolizer& symbolizer) {
  return [&symbolizer](const format::Dump& dump, uint64_t pc) { return symbolizer.Symbolize(dump, pc); };
}

}  // namespace leaktrace::reporter
