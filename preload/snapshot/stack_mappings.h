// The mappings of this process that hold given addresses (the memory
// section's thread stacks: the mapping holding a thread's stack pointer is
// its stack). Two ways to ask the kernel:
//  - kQuery: PROCMAP_QUERY (Linux 6.11), one ioctl on /proc/self/maps per
//    mapping wanted;
//  - kWalk: read /proc/self/maps whole, which makes the kernel format a line
//    (with the file's path) for every mapping of the process: about 45 us
//    for a small process on the machines measured, a tenth of its exit dump.
// kAuto queries, and walks where the kernel does not know the ioctl (it then
// stops asking).
//
// Raw system calls on a private descriptor, no allocation, no lock:
// async-signal-safe. For the thread writing a dump.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

enum class MappingLookup { kAuto, kQuery, kWalk };

// Calls visit(start, end, ctx) once for every mapping [start, end) holding
// one of the `count` addresses in `sorted` (ascending) or `extra` (0: none),
// in ascending order. An address no mapping holds is skipped. Returns false
// when the mappings could not be read (kQuery: the kernel has no
// PROCMAP_QUERY); some may have been visited by then.
bool ForEachMappingHolding(const uintptr_t* sorted, size_t count, uintptr_t extra, MappingLookup how,
                           void (*visit)(uintptr_t start, uintptr_t end, void* ctx), void* ctx);

}  // namespace leaktrace::preload
