// speedscope's file format (https://www.speedscope.app/file-format-schema.json),
// so `leaktrace export --format speedscope` opens in the speedscope viewer.
#pragma once

#include <string>

#include "reporter/model.h"

namespace leaktrace::reporter {

// One JSON document with one "sampled" profile per value a report holds,
// in this order and only where its total is positive: heap live bytes, heap
// live count, mmap bytes, mmap count, open descriptors, thread stack bytes,
// threads, and for a live report heap allocated since start (bytes, then
// count). For a growth report
// the values are the growth, and sites that shrank are left out (speedscope
// weights are sizes). Each call site is one sample: its stack outermost
// first (indices into the shared frame table), its weight the value. Frames
// carry the function (" [inlined]" appended for an inline frame), file, line
// and column when known, else the module path as file. `exporter` names the
// tool ("leaktrace 0.1.0"). Never empty: with nothing to show, one heap
// profile without samples.
std::string RenderSpeedscope(const Report& report, const std::string& exporter);

}  // namespace leaktrace::reporter
