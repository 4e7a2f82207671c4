// The heap logic behind the wrappers of an allocator's own API (jemalloc's
// mallocx family, tcmalloc's tc_* functions; native_jemalloc.cc,
// native_tcmalloc.cc): the same block headers as malloc/free (see
// block_header.h), with the allocator's own function doing the real work.
//
// Contract: only called once the tracker is initialised (g_mode is kSampled
// or kExact); never throws, but the raw functions it is given may (C++ new),
// so no cleanup may be pending across a call to them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "preload/heap/block_header.h"
#include "preload/internal/compiler.h"
#include "preload/heap/heap_paths.h"
#include "preload/record/tracker.h"

namespace leaktrace::preload {

// One raw allocation of the allocator's family: `total` bytes aligned to
// `alignment` (0: the family's natural alignment). `arg` is the wrapper's own
// (jemalloc's flags, the nothrow tag, ...).
using RawAlloc = void* (*)(size_t total, size_t alignment, uintptr_t arg);

// An allocation of `size` bytes through `raw`, tracked like malloc's: exact
// mode gives it an ExactHeader, sampled mode counts it down and, when it is
// drawn (and `may_sample`, and its alignment at most 64), makes it a sampled
// block (carved from the real malloc, or calloc when `zero`, like malloc's
// samples: never cleared by hand). `zero`: the block must read as zeros
// (`raw` clears its own).
void* NativeAllocate(size_t size, size_t alignment, bool zero, bool may_sample, RawAlloc raw, uintptr_t arg);

// Which kind of block a pointer is: ClassifyBlock and BlockRef (heap_paths.h),
// the classifier malloc's own paths use too. SurelyPlain is the one-test
// fast path.

// Exact mode, a block resized in place by the real allocator: records the
// old size freed and `new_size` allocated at the same site.
void ResizedInPlace(void* p, uint64_t new_size);

}  // namespace leaktrace::preload
