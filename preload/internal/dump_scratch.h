// Working memory of one dump (resource sites, site totals: snapshot.cc,
// resource_sites.cc), carved from one small mapping the process keeps from
// one dump to the next. A dump of a small process then maps and unmaps
// nothing and touches few new pages: on the machines measured, each first
// touch of a page cost ~5 us (a page fault) and each munmap ~11 us (a TLB
// shoot-down), together as much as the rest of a short process's exit dump.
// What does not fit is mapped on its own (MapMemory), as before. The reserve
// counts in g_tracker_bytes (leaktrace_mapped) like any of leaktrace's
// mappings, and stays mapped: kDumpScratchBytes at most, resident only
// where dumps used it.
//
// Dump lock held (one dump at a time) for everything below; raw system
// calls and leaktrace's own memory only: async-signal-safe, must not
// allocate through the program's allocator.
#pragma once

#include <cstddef>

namespace leaktrace::preload {

inline constexpr size_t kDumpScratchBytes = 16 * 1024;  // a small process's tables, about 5 KiB, fit

// At the start of a dump: the whole reserve is free again.
void BeginDumpScratch();
// `bytes` of zeroed memory, 64-byte aligned: from the reserve when it fits,
// else mapped on its own. nullptr when the system is out of memory.
void* DumpScratchAllocate(size_t bytes);
// Gives back what DumpScratchAllocate returned (the reserve's part is free
// again at the next BeginDumpScratch).
void DumpScratchFree(void* p, size_t bytes);
// A page of the reserve that is never written: reading it maps the shared
// zero page (process_memory.cc learns that page's frame from it). nullptr
// when the reserve could not be mapped.
const void* DumpScratchNeverWrittenPage();

}  // namespace leaktrace::preload
