// The out-of-line heap paths behind the hooks in hooks_malloc.cc and the
// wrappers of an allocator's own API (native_heap.cc): the sampling decision's
// policy, the one classifier of blocks, sampled blocks, exact mode, start-up.
//
// Contract for everything here: never throws, never allocates through the
// hooks (only the real allocator's blocks that the program asked for, plus
// their slack), may run on any thread; functions that record (Capture*,
// Record*) only when the thread is not busy, which they check themselves.
#pragma once

#include <cstddef>
#include <cstdint>

#include "preload/heap/age_table.h"
#include "preload/heap/block_header.h"
#include "preload/internal/compiler.h"
#include "preload/heap/sampler.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"

namespace leaktrace::preload {

// ---- which kind of block is p ------------------------------------------------

// What a pointer the program hands back is. The one classifier: free,
// realloc, malloc_usable_size and the native wrappers all ask it.
struct BlockRef {
  enum Kind : uint8_t {
    kPlain,      // the real allocator's block, untracked (sampled or inert mode)
    kBootstrap,  // from the start-up heap (bootstrap_heap.h): never freed
    kExact,      // exact mode: an ExactHeader in front
    kSampled,    // sampled mode: a SampledHeader in front (stack id 0 and weight 0
                 // when a realloc left it unsampled: it then records nothing)
  } kind;
  char* base;      // the real allocator's block (kPlain: p itself)
  size_t offset;   // p - base
  uint64_t size;   // bytes the program asked for (kBootstrap, kExact, kSampled)
};

// The sampled-mode fast test, as in free(): not 64 bytes into a page means a
// plain block of the real allocator. False says nothing either way.
LT_ALWAYS_INLINE bool SurelyPlain(const void* p) { return CurrentMode() == Mode::kSampled && !MaybeSampled(p); }

// Classifies a non-null `p` without changing anything. Initialises the
// tracker if it is not yet (a block can be freed before anything else).
// Must not allocate; reads at most the 64 bytes in front of p.
BlockRef ClassifyBlock(void* p);

// ---- the sampling decision (sampled mode) -------------------------------------

// After TryRecord(t.sampler, size) returned false: a busy thread never
// samples (the countdown is left for the next allocation); otherwise
// SampleSlow at LEAKTRACE_SAMPLE. The weight when sampled, else 0.
LT_NOINLINE double DecideSampleSlow(ThreadState& t, size_t size);

// The whole decision for one allocation of `size` bytes: 0 (not sampled) or
// its Horvitz-Thompson weight. Every allocation and every realloc of sampled
// mode (a realloc is a free plus a new allocation) asks exactly once.
LT_ALWAYS_INLINE double DecideSample(ThreadState& t, size_t size) {
  if (LT_LIKELY(TryRecord(t.sampler, size))) return 0;
  return DecideSampleSlow(t, size);
}

// A new sampled block of `size` bytes drawn with `weight`, aligned to
// `alignment` (at most kSampledAlignment; 0 for malloc's own): captures the
// stack, carves the block from the real malloc (calloc when `zero`: the
// memory stays as lazily zeroed as the real calloc left it) and records it.
// nullptr (nothing recorded) when the real allocator fails or size + slack
// overflows; the caller then falls back to a plain block.
void* NewSampledBlock(ThreadState& t, size_t size, bool zero, double weight, size_t alignment = 0);

// Resizes the block `p` in the sampled layout to `size` bytes, drawn again
// with `weight` (0: not drawn; it keeps the layout and records nothing):
// `resize(base, total, arg)` is the real allocator's realloc of the real
// block, `usable(base, arg)` its usable size. Books the old block's free and
// the new allocation (the birth kept). `zero`: bytes past the old block's end
// must read as zeros (jemalloc's MALLOCX_ZERO; `resize` zeroes its own).
// nullptr when the resize fails or overflows (errno ENOMEM): `p` is then
// unchanged and still recorded.
// Up to this size, a block in the sampled layout that the new decision does
// not sample becomes an ordinary block again: the copy costs no more than
// the slack it gives back. Above it, the block keeps the layout, unsampled
// (stack id 0, weight 0: it records nothing, like an ordinary block), so
// its next realloc is again the real realloc of its real block. Copying it
// out instead (probability exp(-size/T) per call) would cost O(T) per call
// near size T: a buffer grown in 64-byte steps through T took 25x plain.
inline constexpr size_t kBackToPlainBytes = kPageSize;

// A realloc from more than this to more than this continues the block's own
// sampling decision instead of making a fresh one (ReallocateSampled, in
// heap_paths.cc, says why and how that stays unbiased). So that the rule
// depends only on the sizes, never on whether a block was sampled, an
// ordinary block that realloc makes larger than this takes the sampled
// layout whatever its decision (unsampled: stack id 0, weight 0), once: a
// copy of the block and at most a page and the 64-byte header more, for a
// block of at least 32 KiB. Below it, each growth in steps of d offers the
// sampler the whole block: about L^2 / 2dT samples per buffer grown past L.
inline constexpr size_t kContinueAboveBytes = 32 * 1024;

using RawResize = void* (*)(void* base, size_t total, uintptr_t arg);
using RawUsable = size_t (*)(void* base, uintptr_t arg);
// `size` is what the program asked (what is booked); `capacity` (>= size)
// what the real block is sized for (realloc's headroom).
// `offered`: the bytes of the sampling line behind `weight` (SampledHeader;
// ChargedBytes(size) after a fresh decision at `size` by realloc; 0 when
// the next realloc must decide afresh, as after a fresh decision made
// anywhere else). `alignment`: as for NewSampledBlock.
void* ResizeSampled(ThreadState& t, void* p, size_t size, size_t capacity, double weight, uint64_t offered, bool zero,
                    RawResize resize, RawUsable usable, uintptr_t arg, size_t alignment = 0);

// A sampled block resized in place and booked again at `stack_id` (its
// site's counters already moved): the header's new booking, and a new
// birth in the block's age entry, rewritten in its slot. The usable size is
// measured when asked for (heap_paths.cc, UsableOf). Must not allocate.
LT_ALWAYS_INLINE void RewriteSampledBooking(SampledHeader* h, uint32_t stack_id, size_t size, double weight,
                                            uint64_t offered) {
  h->stack_id = stack_id;
  h->size = size;
  h->weight = weight;
  h->offered = offered;
  AgeTableUpdate(h->age_slot, stack_id, size, weight, h->birth_ns);  // the birth kept, as a realloc keeps it
  h->usable_extra = kUsableUnknown;
}

// Books the free of a tracked block (kExact, kSampled) and makes a stale
// copy of its header unrecognisable, before the caller gives `b.base` back
// to the real allocator. kPlain and kBootstrap: nothing.
void ForgetBlock(void* p, const BlockRef& b);

// ---- the hooks' slow paths ----------------------------------------------------

// malloc/calloc (natural alignment; `zero`: calloc) when the fast path does
// not apply: exact and inert mode, start-up.
void* AllocateSlow(size_t size, bool zero);
// Sampled mode, TryRecord already returned false for this allocation.
LT_NOINLINE void* AllocateSampledSlow(size_t size, bool zero);
// memalign and friends (`alignment` a power of two). Never zeroed: there is
// no aligned calloc, so no path here clears memory by hand.
void* AllocateAlignedSlow(size_t size, size_t alignment);
void FreeSlow(void* p);
// Sampled mode, MaybeSampled(p): most such pointers are plain blocks that
// happen to sit at page + 64 or + 80 (1 in 128), given back at once after
// the check word says so. A sampled block's free is booked and its real
// block kept as a spare for a later sample or freed (spare_block.h); a
// start-up block is left alone.
LT_NOINLINE void FreeMaybeSampled(void* p);
void* ReallocateSlow(void* p, size_t size);
// Sampled mode, `p` a block in the sampled layout (IsSampledBlock): what
// ReallocateSlow does with it, without classifying it again.
void* ReallocateSampledBlock(void* p, size_t size);
// Sampled mode, p is a plain block and TryRecord already returned false.
LT_NOINLINE void* ReallocatePlainSlow(void* p, size_t size);
size_t UsableSizeSlow(void* p);

// ---- exact mode ------------------------------------------------------------------

// MaybeAgeExact once the thread's sampler found a point in the block.
LT_NOINLINE uint32_t AgeExactSlow(ThreadState& t, void* p, uint32_t stack_id, size_t size, uint32_t reuse_slot);

// Whether the block `p` is one of exact mode's aged sample (age_table.h),
// and then its age table slot + 1, else 0. Runs the thread's sampler at
// kExactAgeSampleInterval, which exact mode has no other use for. Also used
// by the wrappers of an allocator's own API (native_heap.cc). `reuse_slot`
// (a realloc'd block's entry, or 0): rewritten in place when aged again.
LT_ALWAYS_INLINE uint32_t MaybeAgeExact(ThreadState& t, void* p, uint32_t stack_id, size_t size,
                                        uint32_t reuse_slot = 0) {
  if (LT_LIKELY(TryRecord(t.sampler, size))) return 0;
  return AgeExactSlow(t, p, stack_id, size, reuse_slot);
}

// The age decision of a block resized from `old_size` to `size` bytes (a
// realloc: a new booking at `stack_id`, the birth kept), whose entry was `old_slot` (0: not
// aged). Returns its slot + 1, else 0; removes `old_slot` when it is not
// kept. See heap_paths.cc for why a growth decides only its new bytes.
uint32_t ReageExact(ThreadState& t, void* p, uint32_t stack_id, uint32_t old_stack_id, size_t old_size, size_t size,
                    uint32_t old_slot);

// Exact mode, after the real allocator moved or resized the block whose
// header was `old` to `moved` (its header `offset` bytes in): writes the new
// header and books the old block's free and the new one's allocation (a new
// birth, as with realloc). Returns the program's pointer. Must not allocate.
void* RehomeExact(ThreadState& t, char* moved, size_t offset, const ExactHeader& old, uint32_t stack_id, size_t size);

}  // namespace leaktrace::preload
