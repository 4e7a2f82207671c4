#include "preload/heap/heap_paths.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include <atomic>

#include "preload/heap/age_table.h"
#include "preload/heap/block_header.h"
#include "preload/heap/bootstrap_heap.h"
#include "preload/heap/growing_block.h"
#include "preload/internal/compiler.h"
#include "preload/internal/elf_symbols.h"
#include "preload/interpose/real_functions.h"
#include "preload/heap/sampler.h"
#include "preload/heap/spare_block.h"
#include "preload/record/thread_state.h"
#include "preload/internal/health.h"
#include "preload/record/exact_record.h"
#include "preload/record/tracker.h"
#include "preload/record/unwinder.h"

// glibc's own malloc, whatever the program's malloc symbol resolves to.
extern "C" void* __libc_malloc(size_t);

namespace leaktrace::preload {
namespace {

size_t Min(size_t a, size_t b) { return a < b ? a : b; }

// ---- sampled blocks ------------------------------------------------------

// What the real allocator gives the program for a plain block of `size`
// (its malloc_usable_size), measured on a plain block made and freed at once:
// one more malloc and free per sample, never touched (no RSS, even for a big
// block). A sampled block must look exactly like the others to the program:
// one that fills blocks up to their usable size before it reallocs (redis's
// listpacks) would otherwise reallocate sampled blocks on another schedule
// than the rest, and the sample would no longer stand for them.
//
// Cheaper in two cases. From 4 T on nearly every block of the size is a
// sample (p > 98 %): there are no plain blocks to look like; such a block
// says its size. And every allocator rounds a size up to a grid (size
// classes, 16 bytes, pages), so a measured block of usable size u answers
// for every size from the one measured up to u: the thread remembers its
// last measurement.
//
// Never probed from kProbeBelowBytes on, where the block says its size too.
// There glibc may map a block of its own: the probe would be an mmap and a
// munmap, and the free of a mapped block raises glibc's dynamic mmap
// threshold, so the program's later blocks of that size would come from the
// heap rather than mappings of their own (a calloc there is cleared by
// hand, made resident: 256 calloc(1, 1 MiB) grew the resident set by 6.9
// MiB instead of 2). Telling a program less than it could use is allowed;
// for blocks this large it costs at most an earlier realloc.
//
// And when the real allocator is glibc's own, no probe at all: below its
// mmap threshold a block of `size` is a heap chunk of size + 8 rounded up to
// 16 (32 at the least), all of it usable but the 8-byte size field
// (GlibcHeapUsable). The probe was a third of a sample's cost on churn
// (~210 instructions). A program that lowers glibc's mmap threshold below a
// size (mallopt M_MMAP_THRESHOLD) is told the heap chunk's usable size for
// its sampled blocks of that size, a page's rounding less than plain ones.
constexpr size_t kProbeBelowBytes = size_t{128} << 10;  // glibc's default M_MMAP_THRESHOLD

LT_ALWAYS_INLINE size_t GlibcHeapUsable(size_t size) {
  const size_t chunk = (size + 8 + 15) & ~size_t{15};
  return (chunk < 32 ? 32 : chunk) - 8;
}

// Whether the real malloc is glibc's (not jemalloc's, tcmalloc's, a
// debugging wrapper's): 0 not known yet, 1 glibc, 2 another.
std::atomic<int> g_real_malloc_is_glibc{0};

// The name alone does not tell: gperftools' tcmalloc defines __libc_malloc
// too (as its own malloc), and a library loaded before libc wins the name.
// So the real malloc must also be defined in the C library's own module.
// Not told by allocating: a block of glibc's malloc'd and freed stays in
// the thread's cache (tcache) and pins the heap where it falls, whenever in
// the program the first question came. Below it glibc's freed chunks could
// no longer join the top: `malloc_sizes` in exact mode spent 2.5 times
// plain's time in _int_malloc, and under a fixed trim threshold mapped a
// block for one malloc in eight (plain: one in 1,600).
bool DefinedInTheCLibrary(const void* function) {
  dl_find_object found;
  return _dl_find_object(const_cast<void*>(function), &found) == 0 && found.dlfo_link_map != nullptr &&
         found.dlfo_link_map == LibcModule();
}

bool RealMallocIsGlibc() {
  int known = g_real_malloc_is_glibc.load(std::memory_order_relaxed);
  if (LT_UNLIKELY(known == 0)) {
    const void* real_malloc = reinterpret_cast<void*>(real.malloc);
    known = real_malloc == reinterpret_cast<void*>(&__libc_malloc) && DefinedInTheCLibrary(real_malloc) ? 1 : 2;
    g_real_malloc_is_glibc.store(known, std::memory_order_relaxed);
  }
  return known == 1;
}

// What the real allocator gives a plain block of `size` below
// kProbeBelowBytes (computed for glibc's, else measured), from there `size`.
size_t PlainBlockUsable(size_t size) {
  if (size >= kProbeBelowBytes) return size;
  if (LT_LIKELY(RealMallocIsGlibc())) return GlibcHeapUsable(size);
  if (!RealUsableSizeIsTheAllocators()) return size;  // nothing to measure by
  ThreadState& t = t_state;
  if (t.usable != 0 && size >= t.usable_from && size <= t.usable) return t.usable;
  void* probe = real.malloc(size);
  if (probe == nullptr) return size;
  size_t usable = real.malloc_usable_size(probe);
  real.free(probe);
  if (usable < size) usable = size;
  t.usable_from = size;
  t.usable = usable;
  return usable;
}

// What a sampled block of `size` tells the program (see above).
size_t PlainUsable(size_t size) {
  if (size / 4 >= g_config.sample_interval) return size;
  return PlainBlockUsable(size);
}

// usable - size as SampledHeader::usable_extra keeps it; `usable` 0: not
// measured. An allocator that rounds a size up by 4 GiB or more (only when
// T is over 1 GiB): the program is told 4 GiB less than it could use.
uint32_t UsableExtra(size_t size, size_t usable) {
  if (usable == 0) return kUsableUnknown;
  const uint64_t extra = usable - size;
  return extra < kUsableUnknown ? static_cast<uint32_t>(extra) : kUsableUnknown - 1;
}

// `capacity`: what the real block was sized for, >= `usable` >= size
// (`usable` 0: not measured yet, UsableOf measures it).
// `offered`: the bytes of the sampling line behind `weight` (SampledHeader).
// `birth_ns`: the block's allocation (AgeClockNs() for a new one; a
// realloc keeps the birth the block's header had).
void WriteSampledHeader(char* p, char* base, uint32_t stack_id, size_t size, double weight, uint64_t offered,
                        size_t capacity, size_t usable, uint64_t birth_ns) {
  SampledHeader* h = SampledHeaderOf(p);
  h->stack_id = stack_id;
  h->base_offset = static_cast<uint32_t>(p - base);
  h->size = size;
  h->weight = weight;
  h->offered = offered;
  h->capacity = capacity;
  h->birth_ns = birth_ns;
  h->age_slot = stack_id != 0 ? AgeTableInsert(p, stack_id, size, weight, h->birth_ns) : 0;
  h->usable_extra = UsableExtra(size, usable);
  h->check = SampledCheck(p);
}

// What malloc_usable_size tells the program about the sampled block `h`:
// measured (PlainUsable) the first time anyone asks after a realloc that the
// block's capacity held, so that such a realloc costs no probe. At most
// the capacity: the program may write every byte it is told of (when a
// plain block's usable size would be larger, the program is told less, which
// the API allows; it happens only for a size within the allocator's
// rounding of the capacity).
size_t UsableOf(SampledHeader* h) {
  SettleIfGrowing(t_state, h);
  if (h->usable_extra == kUsableUnknown) {
    size_t usable = PlainUsable(h->size);
    if (usable > h->capacity) usable = h->capacity;
    h->usable_extra = UsableExtra(h->size, usable);
  }
  return h->size + h->usable_extra;
}

// The block with header `h` leaves the sampled layout (freed, or resized and
// given a new header): books its free (or counts it when the thread is
// busy), leaves the age table, and clears the check word so a stale copy of
// this page never passes for a header.
void UnrecordSampled(ThreadState& t, SampledHeader* h) {
  SettleIfGrowing(t, h);
  if (h->stack_id == 0) {
    // Unsampled by a realloc, or its stack was not recorded: nothing booked.
  } else if (t.busy == 0) {
    RecordFree(t, h->stack_id, h->size, h->weight);
  } else {
    g_health.busy_frees.fetch_add(1, std::memory_order_relaxed);
  }
  AgeTableRemove(h->age_slot);
  h->check = 0;
}

char* SampledBase(void* p) { return static_cast<char*>(p) - SampledHeaderOf(p)->base_offset; }

// The free of the sampled block `p` in the real block `base`: booked before
// the real block is reused (kept as a spare for a later sample, or given
// back to the real allocator). A realloc that decided the block's sampling
// left `offered` set: it was resized (spare_block.h says why that matters).
void FreeSampled(void* p, char* base) {
  SampledHeader* h = SampledHeaderOf(p);
  const bool resized = h->offered != 0;
  UnrecordSampled(t_state, h);
  KeepOrFreeSampledBase(base, resized);
}

void* RealRealloc(void* base, size_t total, uintptr_t) { return real.realloc(base, total); }
size_t RealUsable(void* base, uintptr_t) { return real.malloc_usable_size(base); }

void* PlainAllocate(size_t size, bool zero) { return zero ? real.calloc(1, size) : real.malloc(size); }

// ---- exact mode ------------------------------------------------------------

// `zero` only with alignment <= 16 (calloc has no alignment): the real
// calloc clears, lazily where it can; nothing here clears by hand.
void* NewExactBlock(size_t size, size_t alignment, bool zero, uint32_t stack_id) {
  const size_t offset = alignment <= kExactHeaderBytes ? kExactHeaderBytes : alignment;
  size_t total;
  if (__builtin_add_overflow(size, offset, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  char* base;
  if (offset == kExactHeaderBytes) base = static_cast<char*>(PlainAllocate(total, zero));
  else base = static_cast<char*>(real.memalign(alignment, total));
  if (base == nullptr) return nullptr;
  void* p = base + offset;
  InitExactHeader(*ExactHeaderOf(p), size, stack_id, offset);
  return p;
}

char* ExactBase(void* p) { return static_cast<char*>(p) - ExactOffset(*ExactHeaderOf(p)); }

void* AllocateExact(size_t size, size_t alignment, bool zero) {
  ThreadState& t = t_state;
  const uint32_t stack_id = t.busy ? 0 : CaptureStackId(t);
  void* p = NewExactBlock(size, alignment, zero, stack_id);
  if (p != nullptr && stack_id != 0) {
    RecordAlloc(t, stack_id, size, 1.0);
    SetAgeSlot(*ExactHeaderOf(p), MaybeAgeExact(t, p, stack_id, size));
  }
  return p;
}

void* ReallocateExact(void* p, size_t size) {
  ThreadState& t = t_state;
  const ExactHeader old = *ExactHeaderOf(p);
  const size_t offset = ExactOffset(old);
  char* base = ExactBase(p);
  if (size == 0) {
    // Keep the real allocator's meaning of realloc(p, 0): glibc frees and
    // returns NULL; others hand back a minimal block, which needs our header.
    if (old.stack_id != 0 && t.busy == 0) RecordFree(t, old.stack_id, old.size, 1.0);
    AgeTableRemove(AgeSlotOf(old));
    void* r = real.realloc(base, 0);
    if (r == nullptr) return nullptr;
    real.free(r);
    return AllocateExact(0, 0, false);
  }
  size_t total;
  if (__builtin_add_overflow(size, offset, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  const uint32_t stack_id = t.busy ? 0 : CaptureStackId(t);
  char* moved = static_cast<char*>(real.realloc(base, total));
  if (moved == nullptr) return nullptr;  // the old block is untouched
  return RehomeExact(t, moved, offset, old, stack_id, size);
}

// ---- sampled mode's realloc ------------------------------------------------

// A realloc that the block's capacity holds: the old booking goes, the new
// size is booked with `weight` (0: it stays in the sampled layout,
// unrecorded). Must not allocate.
void RebookSampled(ThreadState& t, void* p, size_t size, double weight, uint64_t offered) {
  const uint32_t stack_id = weight > 0 ? CaptureStackId(t) : 0;
  SampledHeader* h = SampledHeaderOf(p);
  if (stack_id != 0 && h->stack_id != 0 && h->age_slot != 0 && t.busy == 0) {
    // Booked before and after (a sampled block growing in small steps): the
    // same free and allocation as below, with the site's counters found
    // once when the stack is the same, and the block's age entry rewritten
    // in its slot instead of removed and inserted again.
    RecordRealloc(t, h->stack_id, h->size, h->weight, stack_id, size, weight);
    RewriteSampledBooking(h, stack_id, size, weight, offered);
    return;
  }
  const size_t capacity = h->capacity;
  const uint64_t birth_ns = h->birth_ns;
  char* base = SampledBase(p);
  UnrecordSampled(t, h);
  WriteSampledHeader(static_cast<char*>(p), base, stack_id, size, weight, offered, capacity, 0, birth_ns);
  RecordAlloc(t, stack_id, size, weight);
}

// The sampling decision for a realloc of the block `h` (sampled layout) to
// `size` bytes: its weight (0: not sampled), and in `offered` the bytes of
// the sampling line behind it.
//
// A realloc is a free and a new allocation. Deciding it afresh at the new
// size, as for a malloc, is unbiased but offers the sampler the whole block
// at every call: a buffer grown to N bytes in steps of d offers N^2 / 2d
// bytes, and from about T on nearly every step is a sample, each with an
// unwind and an age-table entry (4.3x plain for 64-byte steps to 1 MiB).
//
// From more than kContinueAboveBytes to more than that, the decision
// continues the block's own instead: only bytes the block has never been
// offered (its growth beyond `h.offered`, the most it has held since its
// last fresh decision) go to the sampler, and a block once sampled stays
// sampled. The line's points are a Poisson process, so after a fresh
// decision at c bytes and growths g1, g2, ... the block is sampled with
// probability exactly p = 1 - exp(-O/T), O = c + g1 + g2 + ... = `offered`;
// its weight is 1/p of that O, recomputed at every realloc. So weight x
// [sampled] has expectation 1 at every moment of the block's life, and the
// live counts, bytes and their variances (w(w-1) terms) stay unbiased. A
// shrink offers nothing and keeps O: a shrunk block weighs less than a
// fresh decision's sample would, and is correspondingly more likely to be
// sampled.
//
// That holds only if every block with the same sizes takes the same rule,
// sampled or not: an ordinary block has no header to keep O in, so realloc
// moves one that grows past kContinueAboveBytes into the sampled layout
// whatever its fresh decision (ReallocatePlainSlow), and a block that no
// realloc decided yet (`h.offered` 0: sampled by malloc, or by the wrappers
// of an allocator's API) decides afresh at its first realloc, as its
// ordinary siblings do. The rest of the booking is still that of a free and
// a new allocation: the stack is the realloc's (the birth is the block's:
// a realloc keeps it, docs/cli.md "Age").
// sampling_accuracy_test.cc (ReallocatedBuffersAreEstimatedWithinTheirError)
// checks the estimate against what a program keeps.
double DecideRealloc(ThreadState& t, const SampledHeader& h, size_t size, uint64_t* offered) {
  const uint64_t before = h.offered;
  if (before == 0 || h.size <= kContinueAboveBytes || size <= kContinueAboveBytes) {
    *offered = ChargedBytes(size);
    return DecideSample(t, size);
  }
  if (size <= before) {
    *offered = before;
    return h.weight;  // nothing new offered: the same draw, the same weight
  }
  *offered = size;
  if (h.weight > 0) return GrownWeight(h.weight, before, size, g_config.sample_interval, g_config.sample_per_byte);
  return DecideSample(t, size - before) > 0 ? SampleWeight(size, g_config.sample_interval) : 0;
}

// A block in the sampled layout resized by realloc beyond its headroom: a
// free of the old block and a new sampling decision at the new size, the
// size booked being what the block then holds (ResizeSampled keeps the
// layout and resizes the real block in place or by the real realloc,
// amortised like the program's own realloc).
void* ReallocateSampled(ThreadState& t, void* p, size_t size) {
  SampledHeader* h = SampledHeaderOf(p);
  SettleIfGrowing(t, h);
  if (size == 0) {
    // The real allocator's meaning of realloc(p, 0), on the real block.
    char* base = SampledBase(p);
    UnrecordSampled(t, h);
    return real.realloc(base, 0);
  }
  if (size > SIZE_MAX - kSampledSlack) {  // no real block can hold it either
    errno = ENOMEM;
    return nullptr;
  }
  // Every realloc is a free of the old size and an allocation of the new
  // one, with its own sampling decision at the size asked (the estimate's
  // weights stay exact: 1/p of what the block now is), booked at the size
  // asked. What is amortised is the real block, as tcmalloc's realloc does
  // it: a size within the block's capacity, and at least 3/4 of it, keeps
  // the block as it is; a growth sizes it at least 25 % larger. The
  // growth's headroom is address space the program has not touched (not
  // resident); a shrink gives back all but at most a quarter of the block.
  const uint64_t capacity = h->capacity;
  uint64_t offered;
  const double weight = DecideRealloc(t, *h, size, &offered);
  const bool stays_sampled = weight > 0 || size > kBackToPlainBytes;
  if (stays_sampled && size <= capacity && size >= capacity - capacity / 4) {
    // The usable size is measured when asked for (UsableOf), not here.
    if (weight == 0 && h->weight == 0) {
      // Unsampled before and after: nothing is booked either way, so only
      // the header's sizes change (no stack, no clock, no age table).
      h->size = size;
      h->offered = offered;
      h->usable_extra = kUsableUnknown;
      return p;
    }
    RebookSampled(t, p, size, weight, offered);
    return p;
  }
  size_t want = size;
  if (size > capacity && capacity + capacity / 4 > size && capacity + capacity / 4 <= SIZE_MAX - kSampledSlack)
    want = capacity + capacity / 4;
  if (stays_sampled) return ResizeSampled(t, p, size, want, weight, offered, false, RealRealloc, RealUsable, 0);
  // Everything the program may have written: what malloc_usable_size told
  // it (UsableOf), not just what it asked for (redis fills whole blocks).
  void* fresh = real.malloc(size);
  if (fresh == nullptr) return nullptr;  // the old block is untouched
  memcpy(fresh, p, Min(UsableOf(h), size));
  char* base = SampledBase(p);
  UnrecordSampled(t, h);
  real.free(base);
  return fresh;
}

// ---- start-up ----------------------------------------------------------------

// True when the hooks may not run yet: the caller must use the bootstrap heap.
bool NeedsBootstrap() {
  if (LT_LIKELY(CurrentMode() != Mode::kUninitialized)) return false;
  if (t_state.busy != 0) return true;  // re-entered from inside initialisation
  EnsureInitialized();
  return CurrentMode() == Mode::kUninitialized;
}

void* BootstrapOrFail(size_t size, size_t alignment) {
  void* p = BootstrapAlloc(size, alignment);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

// An allocation before leaktrace's constructor that the bootstrap heap
// cannot hold while the start waits (EnsureInitialized): the start is made
// now rather than fail the program's allocation. False when the caller is
// inside leaktrace's own start, or the start was made and left the mode
// unset: the bootstrap heap's answer stands.
bool StartedForTheBootstrapHeap() {
  if (t_state.busy != 0) return false;
  EnsureInitialized(/*even_early=*/true);
  return CurrentMode() != Mode::kUninitialized;
}

Mode InitializedMode() {
  Mode mode = CurrentMode();
  if (LT_UNLIKELY(mode == Mode::kUninitialized)) {
    EnsureInitialized();
    mode = CurrentMode();
  }
  return mode;
}

}  // namespace

// ---- classifier ----------------------------------------------------------------

bool HeaderBeforePageReadable(const void* p) {
  // glibc's blocks carry their own header in front: for a block of glibc's
  // that begins a page, as for one of leaktrace's, those bytes are mapped.
  // Only an allocator without such headers (jemalloc, tcmalloc, mimalloc)
  // costs the system call.
  return RealMallocIsGlibc() || ByteReadable(static_cast<const char*>(p) - kExactHeaderBytes);
}

BlockRef ClassifyBlock(void* p) {
  if (IsBootstrapBlock(p)) return {BlockRef::kBootstrap, nullptr, 0, BootstrapBlockSize(p)};
  switch (InitializedMode()) {
    case Mode::kExact: {
      if (!ExactHeaderReadable(p)) return {BlockRef::kPlain, static_cast<char*>(p), 0, 0};
      const ExactHeader* h = ExactHeaderOf(p);
      // Not ours: a block from the real allocator (block_header.h, kExactTag).
      if (!IsExactHeader(*h)) return {BlockRef::kPlain, static_cast<char*>(p), 0, 0};
      const size_t offset = ExactOffset(*h);
      return {BlockRef::kExact, static_cast<char*>(p) - offset, offset, h->size};
    }
    case Mode::kSampled:
      if (MaybeSampled(p) && IsSampledBlock(p)) {
        const SampledHeader* h = SampledHeaderOf(p);
        return {BlockRef::kSampled, static_cast<char*>(p) - h->base_offset, h->base_offset, h->size};
      }
      [[fallthrough]];
    default:
      // Still uninitialised (inert during start-up) or inert: untracked.
      return {BlockRef::kPlain, static_cast<char*>(p), 0, 0};
  }
}

// ---- the sampling decision and sampled blocks -----------------------------------

double DecideSampleSlow(ThreadState& t, size_t size) {
  if (t.busy != 0) return 0;
  return SampleSlow(t.sampler, size, g_config.sample_interval);
}

void* NewSampledBlock(ThreadState& t, size_t size, bool zero, double weight, size_t alignment) {
  size_t total;
  if (__builtin_add_overflow(size, kSampledSlack, &total)) return nullptr;
  const size_t usable = PlainUsable(size);
  if (__builtin_add_overflow(usable, kSampledSlack, &total)) return nullptr;
  const uint32_t stack_id = CaptureStackId(t);
  char* base = TakeSpareBase(usable, alignment > 16, zero);
  if (base == nullptr) base = static_cast<char*>(PlainAllocate(total, zero));
  if (base == nullptr) return nullptr;
  char* p = SampledPointerIn(base, alignment > 16);
  WriteSampledHeader(p, base, stack_id, size, weight, 0, usable, usable, AgeClockNs());
  RecordAlloc(t, stack_id, size, weight);
  return p;
}

void* ResizeSampled(ThreadState& t, void* p, size_t size, size_t capacity, double weight, uint64_t offered, bool zero,
                    RawResize resize, RawUsable usable, uintptr_t arg, size_t alignment) {
  size_t total;
  const size_t plain_usable = size <= SIZE_MAX - kSampledSlack ? PlainUsable(size) : size;
  if (capacity < plain_usable) capacity = plain_usable;
  if (__builtin_add_overflow(capacity, kSampledSlack, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  SampledHeader* h = SampledHeaderOf(p);
  SettleIfGrowing(t, h);
  const uint32_t stack_id = weight > 0 ? CaptureStackId(t) : 0;
  const SampledHeader old = *h;
  char* base = static_cast<char*>(p) - old.base_offset;
  // Without the allocator's own measure: what the block was made with.
  const size_t old_usable = RealUsableSizeIsTheAllocators() ? usable(base, arg) - old.base_offset : old.capacity;
  // The free is booked before the real allocator may hand the old address
  // out again; the check word goes now, as the old block may be released.
  UnrecordSampled(t, h);
  char* moved = static_cast<char*>(resize(base, total, arg));
  if (moved == nullptr) {
    // Untouched: the block is alive and sampled as before.
    h->check = old.check;
    h->age_slot = old.stack_id != 0 ? AgeTableInsert(p, old.stack_id, old.size, old.weight, old.birth_ns) : 0;
    if (t.busy == 0) RecordAlloc(t, old.stack_id, old.size, old.weight);
    errno = ENOMEM;
    return nullptr;
  }
  char* q = SampledPointerIn(moved, alignment > 16);
  const size_t kept = Min(old_usable, size);
  if (static_cast<size_t>(q - moved) != old.base_offset) {
    // The real block moved to another page offset (a small block, copied by
    // the real realloc anyway): the program's bytes follow.
    memmove(q, moved + old.base_offset, kept);
    // Bytes past the old end that the move uncovered (only when it moved
    // the data down): the real resize zeroed them one page further up.
    if (zero && q < moved + old.base_offset && size > kept)
      memset(q + kept, 0, Min(size - kept, static_cast<size_t>(moved + old.base_offset - q)));
  }
  WriteSampledHeader(q, moved, stack_id, size, weight, offered, capacity, plain_usable, old.birth_ns);
  RecordAlloc(t, stack_id, size, weight);
  return q;
}

void ForgetBlock(void* p, const BlockRef& b) {
  ThreadState& t = t_state;
  if (b.kind == BlockRef::kExact) {
    const ExactHeader* h = ExactHeaderOf(p);
    AgeTableRemove(AgeSlotOf(*h));
    if (h->stack_id == 0) return;
    if (t.busy == 0) RecordFree(t, h->stack_id, h->size, 1.0);
    else g_health.busy_frees.fetch_add(1, std::memory_order_relaxed);
  } else if (b.kind == BlockRef::kSampled) {
    UnrecordSampled(t, SampledHeaderOf(p));
  }
}

// ---- exact mode, shared with the native wrappers ---------------------------------

void* RehomeExact(ThreadState& t, char* moved, size_t offset, const ExactHeader& old, uint32_t stack_id, size_t size) {
  // A free and a new allocation (the birth kept), with its age decision
  // (ReageExact); an entry the block had is rewritten in place when that
  // decision keeps it aged, else removed.
  const uint32_t old_slot = AgeSlotOf(old);
  void* q = moved + offset;
  uint32_t slot = 0;
  if (t.busy == 0) RecordReallocExact(t, old.stack_id, old.size, stack_id, size);
  if (t.busy == 0 && stack_id != 0) slot = ReageExact(t, q, stack_id, old.stack_id, old.size, size, old_slot);
  else AgeTableRemove(old_slot);  // not booked (leaktrace busy, or no stack): not aged either
  StoreExactHeader(*ExactHeaderOf(q), size, stack_id, slot, old.offset_tag);
  return q;
}

// Exact mode's aged blocks are a Poisson sample over bytes (age_table.h):
// a block of c bytes is aged with probability p = 1 - exp(-c/T), weight
// 1/p. Deciding a realloc afresh at its new size, as for a malloc, offers
// the sampler the whole block at every call: a buffer grown in 64-byte
// steps past T = kExactAgeSampleInterval is drawn at nearly every step (a
// third of such a realloc's cost). A growth instead continues the block's
// decision, as sampled mode's realloc does (DecideRealloc): only the bytes
// the block never held go to the sampler, and an aged block stays aged, its
// weight that of the new size (ExactAgedWeight). The line's points are a Poisson
// process, so the block is then aged with probability exactly 1 -
// exp(-size/T), as after a fresh decision, and weight x [aged] still has
// expectation 1. That holds when the old decision was made at exactly
// `old_size` bytes: true for every block booked at a stack (each malloc and
// realloc decides at the size it books); a block that was not booked (stack
// id 0: allocated or resized while leaktrace was busy) or held nothing
// (size 0 is charged one byte) decides afresh, and so does a shrink.
// A block whose decision aged it but found the table full (slot 0) is taken
// for unaged: the table is then incomplete anyway (age_table_full).
uint32_t ReageExact(ThreadState& t, void* p, uint32_t stack_id, uint32_t old_stack_id, size_t old_size, size_t size,
                    uint32_t old_slot) {
  if (old_stack_id == 0 || old_size == 0 || size < old_size) {
    const uint32_t slot = MaybeAgeExact(t, p, stack_id, size, old_slot);
    if (slot != old_slot) AgeTableRemove(old_slot);
    return slot;
  }
  if (old_slot != 0) {
    // Its weight, 1/p of the new size, is the reader's (ExactAgedWeight).
    if (stack_id == old_stack_id) AgeTableRegrow(old_slot, size);
    else AgeTableUpdate(old_slot, stack_id, size, kExactEntryWeight, AgeTableBirth(old_slot));
    return old_slot;
  }
  const size_t grown = size - old_size;
  if (grown == 0 || TryRecord(t.sampler, grown)) return 0;
  if (!SampleHitSlow(t.sampler, grown, kExactAgeSampleInterval)) return 0;
  return AgeTableInsert(p, stack_id, size, kExactEntryWeight, AgeClockNs());
}

uint32_t AgeExactSlow(ThreadState& t, void* p, uint32_t stack_id, size_t size, uint32_t reuse_slot) {
  if (!SampleHitSlow(t.sampler, size, kExactAgeSampleInterval)) return 0;
  if (reuse_slot != 0) {
    // A realloc's fresh decision that keeps the block aged: its birth too.
    AgeTableUpdate(reuse_slot, stack_id, size, kExactEntryWeight, AgeTableBirth(reuse_slot));
    return reuse_slot;
  }
  return AgeTableInsert(p, stack_id, size, kExactEntryWeight, AgeClockNs());
}

// ---- the hooks' slow paths ----------------------------------------------------

void* AllocateSampledSlow(size_t size, bool zero) {
  ThreadState& t = t_state;
  if (LT_UNLIKELY(t.own_heap)) {
    if (void* p = BootstrapAlloc(size, 0)) return p;  // a fresh mapping: already zeroed
  }
  const double weight = DecideSampleSlow(t, size);
  if (weight > 0) {
    if (void* p = NewSampledBlock(t, size, zero, weight)) return p;
  }
  return PlainAllocate(size, zero);
}

void* AllocateSlow(size_t size, bool zero) {
  if (LT_UNLIKELY(t_state.own_heap)) {
    if (void* p = BootstrapAlloc(size, 0)) return p;  // full: the real allocator's, as before
  }
  if (NeedsBootstrap()) {
    if (void* p = BootstrapOrFail(size, 0)) return p;  // a fresh mapping: already zeroed
    if (!StartedForTheBootstrapHeap()) return nullptr;
  }
  switch (CurrentMode()) {
    case Mode::kExact:
      return AllocateExact(size, 0, zero);
    case Mode::kSampled:
      if (TryRecord(t_state.sampler, size)) return PlainAllocate(size, zero);
      return AllocateSampledSlow(size, zero);
    default:
      return PlainAllocate(size, zero);
  }
}

void* AllocateAlignedSlow(size_t size, size_t alignment) {
  if (LT_UNLIKELY(t_state.own_heap)) {
    if (void* p = BootstrapAlloc(size, alignment)) return p;
  }
  if (NeedsBootstrap()) {
    if (void* p = BootstrapOrFail(size, alignment)) return p;
    if (!StartedForTheBootstrapHeap()) return nullptr;
  }
  switch (CurrentMode()) {
    case Mode::kExact:
      return AllocateExact(size, alignment, false);
    case Mode::kSampled:
      // An aligned sampled block sits at page + 64: aligned to 64, no more.
      if (alignment <= kSampledAlignment) {
        ThreadState& t = t_state;
        if (const double weight = DecideSample(t, size); weight > 0) {
          if (void* p = NewSampledBlock(t, size, false, weight, alignment)) return p;
        }
      } else {
        g_health.unsampled_aligned.fetch_add(1, std::memory_order_relaxed);
      }
      [[fallthrough]];
    default:
      return real.memalign(alignment, size);
  }
}

void FreeMaybeSampled(void* p) {
  if (LT_LIKELY(!IsSampledBlock(p))) {
    if (LT_LIKELY(!IsBootstrapBlock(p))) return real.free(p);
    return;  // a start-up block: never reused
  }
  FreeSampled(p, SampledBase(p));  // the classifier's answer, known already (sampled mode, check word)
}

void FreeSlow(void* p) {
  if (p == nullptr) return;
  const BlockRef b = ClassifyBlock(p);
  switch (b.kind) {
    case BlockRef::kBootstrap:
      return;  // never reused
    case BlockRef::kPlain:
      return real.free(p);
    case BlockRef::kSampled:
      return FreeSampled(p, b.base);
    default:
      ForgetBlock(p, b);  // before the real free: the address cannot be reused in between
      return real.free(b.base);
  }
}

void* ReallocatePlainSlow(void* p, size_t size) {
  ThreadState& t = t_state;
  // realloc(p, 0) keeps the real allocator's meaning (glibc: free); an
  // impossible size fails in the real realloc, as without leaktrace.
  if (size == 0 || size > SIZE_MAX - kSampledSlack) return real.realloc(p, size);
  // Up to kContinueAboveBytes the hook's TryRecord already failed; above, it
  // did not ask. Either way one fresh decision at the size asked.
  const bool continues = size > kContinueAboveBytes;
  const double weight = continues ? DecideSample(t, size) : DecideSampleSlow(t, size);
  if (weight == 0 && !continues) return real.realloc(p, size);
  // Drawn, or grown past kContinueAboveBytes: the block takes the sampled
  // layout (unsampled: it records nothing). The real realloc makes room for
  // the header and slack (in place when it can), then the bytes move up to
  // the page offset, once: the block keeps the layout while it stays larger
  // than kBackToPlainBytes.
  const size_t usable = PlainUsable(size);
  // The plain block's size is known only by the allocator's own measure.
  if (usable > SIZE_MAX - kSampledSlack || !RealUsableSizeIsTheAllocators()) return real.realloc(p, size);
  const uint32_t stack_id = weight > 0 ? CaptureStackId(t) : 0;
  const size_t old_usable = real.malloc_usable_size(p);
  char* moved = static_cast<char*>(real.realloc(p, usable + kSampledSlack));
  if (moved == nullptr) return nullptr;  // the old block is untouched
  char* q = SampledPointerIn(moved);
  memmove(q, moved, Min(old_usable, size));
  // A plain block has no birth on record: its age counts from here.
  WriteSampledHeader(q, moved, stack_id, size, weight, ChargedBytes(size), usable, usable, AgeClockNs());
  RecordAlloc(t, stack_id, size, weight);
  return q;
}

void* ReallocateSampledBlock(void* p, size_t size) { return ReallocateSampled(t_state, p, size); }

void* ReallocateSlow(void* p, size_t size) {
  if (p == nullptr) return AllocateSlow(size, false);
  const BlockRef b = ClassifyBlock(p);
  switch (b.kind) {
    case BlockRef::kBootstrap: {
      // A start-up block: copied once into a block of the running tracker.
      void* fresh = AllocateSlow(size, false);
      if (fresh != nullptr) memcpy(fresh, p, Min(b.size, size));
      return fresh;
    }
    case BlockRef::kExact:
      return ReallocateExact(p, size);
    case BlockRef::kSampled:
      return ReallocateSampled(t_state, p, size);
    default:
      if (CurrentMode() == Mode::kSampled) {
        // A plain block that merely looked sampled (64 bytes into a page).
        if (size <= kContinueAboveBytes && TryRecord(t_state.sampler, size)) return real.realloc(p, size);
        return ReallocatePlainSlow(p, size);
      }
      return real.realloc(p, size);
  }
}

size_t UsableSizeSlow(void* p) {
  if (p == nullptr) return 0;
  const BlockRef b = ClassifyBlock(p);
  switch (b.kind) {
    case BlockRef::kBootstrap:
      return b.size;
    case BlockRef::kPlain:
      return real.malloc_usable_size(p);
    case BlockRef::kSampled:
      // What a plain block of its size would have (PlainUsable): the slack
      // and the headroom are leaktrace's (a sampled malloc(200) is 4,032
      // usable bytes on jemalloc), and a program that fills its usable size
      // before it reallocs (redis's listpacks) must see the same thing
      // whether its block is sampled or not.
      return UsableOf(SampledHeaderOf(p));
    default: {
      if (!RealUsableSizeIsTheAllocators()) return b.size;
      const size_t usable = real.malloc_usable_size(b.base) - b.offset;
      // A big block that realloc resized may have headroom (exact_paths.cc,
      // ResizeBigExact): what a plain block of its size would have, as for
      // sampled blocks, never more than there is.
      return b.size > kContinueAboveBytes ? Min(usable, PlainBlockUsable(b.size)) : usable;
    }
  }
}

}  // namespace leaktrace::preload
