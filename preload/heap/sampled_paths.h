// Sampled mode's short realloc path (the default mode): a buffer grown by
// realloc in steps spends most of its life as a block in the sampled layout
// resized within its headroom, and each step comes here. The realloc hook
// calls it once the mode is known to be sampled and the block is not surely
// plain; it does the common steps in a few lines and hands everything else
// to the general paths of heap_paths.h, which book the same things: a null
// or ordinary block to ReallocateSlow; a sampled block resized outside its
// headroom, a fresh sampling decision, a point of the sampling line in the
// growth, another call site or a busy thread to ReallocateSampledBlock.
//
// Contract: never throws; allocates only through those general paths (the
// real allocator's block, when it is resized); any thread. The hook calls it as
// its last act (a tail call), so the unwind cache checks no hook frame.
#pragma once

#include <cstddef>

namespace leaktrace::preload {

// realloc in sampled mode, any `p` (null: an allocation).
void* ReallocSampled(void* p, size_t size);

}  // namespace leaktrace::preload
