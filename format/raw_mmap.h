// Anonymous memory straight from the kernel, for leaktrace's own use.
//
// Raw syscalls, not mmap/munmap: libleaktrace.so exports those (to track the
// program's mappings), and its own memory must neither recurse into the hooks
// nor show up as the program's. Under ThreadSanitizer (the tests' TSan build,
// which has no hooks) the libc functions are used instead, so the sanitizer
// sees memory being unmapped and reused.
//
// Placed out of the program's way. Asked for no address, the kernel puts a
// mapping in the highest gap that holds it, which is often a range the
// program has just unmapped; and a program may map its own range back with
// MAP_FIXED (stress-ng --mmap unmaps 64 MiB page by page and maps every page
// back; an allocator releases and retakes its own ranges so), which would
// overwrite leaktrace's tables under it. So every mapping of leaktrace's own
// is asked for at an address of a zone of its own, below the program's
// mappings (ZoneTop in raw_mmap.cc); a range the zone finds taken is passed
// over, and only when the zone cannot be used (a kernel that ignores the
// address) does the kernel choose.
//
// Contract: any thread, async-signal-safe (one atomic and system calls), no
// allocation, errno may change.
#pragma once

#include <sys/mman.h>

#include <cstddef>

namespace leaktrace::format {

// An anonymous mapping of `bytes` with `prot` and `flags` (MAP_PRIVATE or
// MAP_SHARED, with MAP_NORESERVE as wanted; MAP_ANONYMOUS is added), placed
// in leaktrace's own zone. MAP_FAILED when the kernel refuses.
void* RawMapOwn(size_t bytes, int prot, int flags);

// Read-write, private: the common case.
inline void* RawMapAnonymous(size_t bytes) { return RawMapOwn(bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE); }

void RawUnmap(void* p, size_t bytes);

// `p` (a RawMapOwn mapping of `old_bytes`) grown to `new_bytes`: in place
// when the range above it is free, else moved, without copying, to a new
// range of the zone. MAP_FAILED (and `p` untouched) when neither can be had.
void* RawRemap(void* p, size_t old_bytes, size_t new_bytes);

}  // namespace leaktrace::format
