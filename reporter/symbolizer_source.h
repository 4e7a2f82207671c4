// Plugs the real symbolizer (symbolizer/, elfutils) into the reporter's seam.
#pragma once

#include "reporter/report_from_dump.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::reporter {

// A FrameSource backed by `symbolizer`, which must outlive it.
FrameSource MakeSymbolizerSource(symbolizer::Symbolizer& symbolizer);

}  // namespace leaktrace::reporter
