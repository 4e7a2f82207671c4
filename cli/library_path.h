// Where libleaktrace.so is, for `leaktrace run`.
#pragma once

#include <string>

namespace leaktrace::cli {

// In order: $LEAKTRACE_LIBRARY (must exist if set); the build tree's library
// (compiled in as LEAKTRACE_BUILD_LIBRARY); <dir of this executable>/
// ../lib/leaktrace/libleaktrace.so (an installed layout). Absolute.
// UsageError naming what was tried when none exists.
std::string FindPreloadLibrary();

}  // namespace leaktrace::cli
