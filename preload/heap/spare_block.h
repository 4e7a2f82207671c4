// Spare real blocks for sampled allocations.
//
// A sampled block is the program's size plus up to a page of slack
// (block_header.h, kSampledSlack), so even a sampled malloc(16) is a real
// block of 4-5 KiB: past glibc's tcache and small bins, and a request of
// that size makes glibc consolidate its fast bins and sort its unsorted
// chunks first. That malloc was more than a third of a sample's whole cost
// on churn (~1,700 of ~4,600 instructions, against ~130 for the stack). So
// the real blocks of small sampled blocks the program frees are kept in a
// few process-wide slots, and later samples are carved from them when they
// fit: steady sampling then calls the real allocator rarely.
//
// But a held block pins glibc's heap where it lies (nothing above it can
// join the top and be trimmed), so spares are kept only while samples come
// to take them: after more than kSpareSlots sampled frees with no sampled
// allocation between them, every spare is freed, and none is kept until
// the next sampled allocation.
//
// What the program sees does not change: a sampled block's size, usable
// size, capacity (realloc's headroom) and placement are those a fresh real
// block gives; only which real block holds it differs. At most kSpareSlots
// blocks of at most kSpareMaxBytes are held (80 KiB), and counted as
// leaktrace's own bytes in the heap (SpareBytesHeld).
//
// Contract: any thread; async-signal-safe with respect to the slots (each
// is taken and filled by one atomic exchange, so a block is never held
// twice, even when a signal handler frees a sampled block meanwhile). A
// thread looks at the slots from one of its own on, so that threads
// sampling at once mostly touch different cache lines.
// Never throws; allocates nothing (frees through the real allocator).
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

inline constexpr int kSpareSlots = 10;
// The largest real block kept: sampled blocks of up to ~4 KiB, whose real
// block's malloc is most of a sample's cost. Not larger: a held block sits
// wherever it was, and a program that grows blocks of 5-25 KB by realloc
// grows them in place at the heap's top only while nothing is held there
// (with blocks of up to 16 KiB kept, 97 % of such blocks moved: 2.5x plain;
// HeapTransparency.ReallocGrowsInPlaceWherePlainDoes).
inline constexpr size_t kSpareMaxBytes = size_t{8} << 10;

// The real block `base` of a sampled block just forgotten (its check word
// cleared): kept in a free slot when it is small enough, the program
// never `resized` the block by realloc and samples still take spares
// (above), else freed. A resized block goes
// back: the program grows blocks of that site, and a held block lies where
// their growth in place would go (a block of 64-2,063 bytes realloc'd to
// 2-3.5 KB and freed, over and over: 85 % of them moved, against 48 %
// plainly; HeapTransparency.ReallocGrowsInPlaceWherePlainDoes).
void KeepOrFreeSampledBase(char* base, bool resized);

// A sampled allocation looks for a spare (and so counts as one that may
// reuse them, above): a spare in which a sampled block of `usable` bytes fits at
// SampledPointerIn(base, aligned), taken; cleared from there to its end
// when `zero`, as a calloc'd block is. nullptr when none fits.
char* TakeSpareBase(size_t usable, bool aligned, bool zero);

// Bytes held in spares now (a snapshot's leaktrace_in_heap).
uint64_t SpareBytesHeld();

}  // namespace leaktrace::preload
