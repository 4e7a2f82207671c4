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

// The dlclose hook, before the real dlclose: adds every module loaded now to
// the map, so a plugin opened and closed between two snapshots is still in
// the next dump (flagged unloaded). The caller must have marked the thread
// busy. Never allocates through malloc (the map lives in an mmap arena).
void RecordModules();

// The map's lock (taken by WriteModules and RecordModules, each time before
// the loader's own lock inside dl_iterate_phdr) held across fork, so the
// child never inherits it taken by a thread it does not have.
void ModuleMapPrepareFork();
void ModuleMapParentAfterFork();
void ModuleMapChildAfterFork();

}  // namespace leaktrace::preload
