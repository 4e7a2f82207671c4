// Sampled mode's short realloc path (the default mode): a buffer grown by
// realloc in steps spends most of its life as a block in the sampled layout
// resized within its headroom, and each step comes here. The realloc hook
// calls it once the mode is known to be sampled and the block is not surely
// plain; it does the common steps in a few lines and hands everything else
// (a null or ordinary block, a size outside the block's headroom, a fresh
// sampling decision, a point of the sampling line in the growth, another
// call site, a busy thread) to ReallocateSlow (heap_paths.h), which books
// the same things.
//
// Contract: never throws; never allocates; any thread. The hook calls it as
// its last act (a tail call), so the unwind cache checks no hook frame.
#pragma once

#include <cstddef>

namespace leaktrace::preload {

// realloc in sampled mode, any `p` (null: an allocation).
void* ReallocSampled(void* p, size_t size);

}  // namespace leaktrace::preload
