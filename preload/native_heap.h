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

#include "preload/block_header.h"
#include "preload/compiler.h"
#include "preload/tracker.h"

namespace leaktrace::preload {

// One raw allocation of the allocator's family: `total` bytes aligned to
// `alignment` (0: the family's natural alignment). `arg` is the wrapper's own
// (jemalloc's flags, the nothrow tag, ...).
using RawAlloc = void* (*)(size_t total, size_t alignment, uintptr_t arg);

// An allocation of `size` bytes through `raw`, tracked like malloc's: exact
// mode gives it an ExactHeader, sampled mode counts it down and, when it is
// drawn (and `may_sample`, and its alignment at most 64), makes it a sampled
// block (real memalign, like malloc's samples). `zero`: the block must read
// as zeros (a sampled block is cleared here; `raw` clears its own).
void* NativeAllocate(size_t size, size_t alignment, bool zero, bool may_sample, RawAlloc raw, uintptr_t arg);

// What a pointer handed to a native function is.
struct BlockRef {
  enum Kind : uint8_t { kPlain, kBootstrap, kExact, kSampled } kind;
  char* base;      // the real allocator's block (kExact, kSampled)
  size_t offset;   // p - base
  uint64_t size;   // bytes the program asked for (kExact, kSampled)
};

// Sampled mode's one-test fast path, as in free(): not 64 bytes into a page
// means an untracked block of the real allocator.
LT_ALWAYS_INLINE bool IsPlainFast(const void* p) { return g_mode == Mode::kSampled && !MaybeSampled(p); }

// Classifies a non-null `p` without changing anything.
BlockRef InspectBlock(void* p);

// Counts the free of a tracked block (kExact, kSampled) before the caller
// gives `b.base` back to the real allocator.
void ForgetBlock(void* p, const BlockRef& b);

// Exact mode, a block resized in place by the real allocator: records the
// old size freed and `new_size` allocated at the same site.
void ResizedInPlace(void* p, uint64_t new_size);

}  // namespace leaktrace::preload
