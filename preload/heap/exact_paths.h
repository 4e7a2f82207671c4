// Exact mode's heap hooks (LEAKTRACE_SAMPLE=1): every block the program gets
// has an ExactHeader in front (block_header.h), every allocation and free is
// booked at its exact stack. The hooks in hooks_malloc.cc call these once
// the mode is known to be exact; each is the common case in a few lines and
// hands everything else (a busy thread, start-up, blocks that are not exact
// mode's, realloc(p, 0), sizes that overflow) to the slow paths of
// heap_paths.h, which book the same things.
//
// Contract: never throws; allocates only the program's own blocks from the
// real allocator; any thread. The hooks call them as their last act (a tail
// call), so the unwind cache checks no hook frame (unwind_cache.h).
#pragma once

#include <cstddef>

namespace leaktrace::preload {

// malloc.
void* MallocExact(size_t size);
// calloc of `size` bytes in all (the caller checked the product).
void* CallocExact(size_t size);
// free, any `p` (null: nothing).
void FreeExact(void* p);
// realloc, any `p` (null: an allocation).
void* ReallocExact(void* p, size_t size);

}  // namespace leaktrace::preload
