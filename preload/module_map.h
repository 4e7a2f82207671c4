// The modules (executable, shared libraries, vdso) loaded in the process, as
// a dump needs them to be symbolized offline: path, build-id, load bias and
// segments. Modules seen in an earlier snapshot but gone now are kept,
// marked unloaded, so stacks through them still symbolize.
#pragma once

#include "format/dump_writer.h"

namespace leaktrace::preload {

// Dumper only (called with the dump lock held). Refreshes the map from
// dl_iterate_phdr and writes the MODULES section.
void WriteModules(format::DumpWriter& writer);

}  // namespace leaktrace::preload
