// The out-of-line heap paths behind the hooks in hooks_malloc.cc: sampled
// allocations, exact mode, start-up, and every free that might be tracked.
#pragma once

#include <cstddef>

namespace leaktrace::preload {

// `alignment` <= 16 means malloc's natural alignment. `zero`: calloc.
void* AllocateSlow(size_t size, size_t alignment, bool zero);
// Sampled mode, the countdown already crossed zero for this allocation.
void* AllocateSampled(size_t size, bool zero);
void FreeSlow(void* p);
void* ReallocateSlow(void* p, size_t size);
// Sampled mode, p is an unsampled block and the countdown crossed zero.
void* ReallocateIntoSample(void* p, size_t size);
size_t UsableSizeSlow(void* p);

}  // namespace leaktrace::preload
