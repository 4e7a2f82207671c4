// The out-of-line heap paths behind the hooks in hooks_malloc.cc: sampled
// allocations, exact mode, start-up, and every free that might be tracked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "preload/block_header.h"
#include "preload/thread_state.h"

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
// Exact mode: whether the block `p` is one of the aged sample (age_table.h),
// and then its age table slot + 1, else 0. Runs sampled mode's Poisson
// countdown, which exact mode has no other use for. Also used by the
// wrappers of an allocator's own API (native_heap.cc).
uint32_t MaybeAgeExact(ThreadState& t, void* p, uint32_t stack_id, size_t size);

// Exact mode, after the real allocator moved or resized the block whose
// header was `old` to `moved` (its header `offset` bytes in): writes the new
// header and books the old block's free and the new one's allocation (a new
// birth, as with realloc). Returns the program's pointer. Must not allocate.
void* RehomeExact(ThreadState& t, char* moved, size_t offset, const ExactHeader& old, uint32_t stack_id, size_t size);

}  // namespace leaktrace::preload
