// The pprof export use case: read the dumps (and a base), symbolize them
// with one symbolizer and render the gzipped profile. `leaktrace export
// --format pprof` only writes the bytes and the warnings.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "reporter/model.h"
#include "reporter/report_from_dump.h"
#include "symbolizer/symbolizer.h"

namespace leaktrace::reporter::pprof {

struct LoadedPprof {
  std::string bytes;  // a .pb.gz file
  std::vector<symbolizer::ModuleWarning> module_warnings;
  std::set<std::string> shown_modules;  // modules of the frames in the profile
  std::vector<std::string> warnings;    // for the user, one line each, no prefix
};

// Reads every dump and the base (`base_path` may be empty) before any slow
// work (format::DumpError or InputError on the first bad one), keeps the
// newest snapshot of each process (KeepNewestSnapshotPerProcess), then builds
// the profile of `resource` (RenderPprof). Works on the dumps themselves,
// not on a merged report: a profile needs the raw return addresses and the
// module map for its locations and mappings, which a report has already
// symbolized away. Warns when the dumps come from different programs.
LoadedPprof LoadPprof(const std::vector<std::string>& paths, const std::string& base_path, Resource resource,
                      const StackOptions& stacks);

}  // namespace leaktrace::reporter::pprof
