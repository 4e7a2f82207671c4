// The allocator's own view of its memory, for the snapshot's memory section
// (docs/dump-format.md, memory; docs/cli.md, "Where the RSS went").
#pragma once

#include <cstdint>

namespace leaktrace::preload {

enum class AllocatorKind : uint32_t { kUnknown = 0, kGlibc = 1, kJemalloc = 2, kTcmalloc = 3 };

struct AllocatorStats {
  AllocatorKind kind = AllocatorKind::kUnknown;
  uint64_t in_use = 0;    // bytes in blocks handed out (the allocator's count: chunk headers and rounding included)
  uint64_t free = 0;      // bytes it holds for reuse: free chunks, top, caches, dirty pages, its metadata
  uint64_t resident = 0;  // what it holds from the system, counted as resident (see the .cc for each allocator)
  uint64_t mapped = 0;    // what it has mapped (virtual), for information
  uint64_t read_ns = 0;   // how long asking took (set by the caller)
  bool skipped = false;   // not asked: the last answer was slow (snapshot.cc)
  bool in_handler = false;  // not asked: the dump is written from the snapshot signal's handler (snapshot.cc)
};

// Asks the allocator behind malloc (native_api.h finds it): glibc's
// mallinfo2, jemalloc's mallctl("stats.*") after mallctl("epoch"), gperftools
// tcmalloc's MallocExtension_GetNumericProperty, whichever the module behind
// malloc defines (looked up once, with dlsym and dladdr). kUnknown (all zero) for any
// other allocator. Takes the allocator's locks (glibc walks every free chunk
// of every arena): never from a hook or a signal handler, and never while
// holding a lock leaktrace's fork handler takes (an allocator's own fork
// handler may hold the allocator's locks while ours waits for it). For the
// thread about to write a dump, which must be busy.
AllocatorStats ReadAllocatorStats();

}  // namespace leaktrace::preload
