// Wrappers of jemalloc's own API: mallocx, rallocx, xallocx, sallocx,
// dallocx, sdallocx. nallocx and mallctl touch no block and stay jemalloc's;
// malloc_usable_size is hooked like malloc. See native_api.h for how they
// replace jemalloc's functions and native_heap.h for the block logic.
//
// jemalloc's flags (jemalloc.h): bits 0-5 hold log2 of the alignment
// (MALLOCX_LG_ALIGN/MALLOCX_ALIGN), 0x40 is MALLOCX_ZERO, bits 8-19 the
// tcache (MALLOCX_TCACHE), bits 20 and up the arena (MALLOCX_ARENA).
#include <string.h>

#include "preload/heap/age_table.h"
#include "preload/heap/heap_paths.h"
#include "preload/interpose/native_api.h"
#include "preload/heap/native_heap.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/tracker.h"

namespace leaktrace::preload {
namespace {

constexpr int kLgAlignMask = 0x3f;
constexpr int kZero = 0x40;
constexpr int kArenaShift = 20;

void* (*real_mallocx)(size_t, int);
void* (*real_rallocx)(void*, size_t, int);
size_t (*real_xallocx)(void*, size_t, size_t, int);
size_t (*real_sallocx)(const void*, int);
void (*real_dallocx)(void*, int);
void (*real_sdallocx)(void*, size_t, int);

size_t AlignmentOf(int flags) { return (flags & kLgAlignMask) ? size_t{1} << (flags & kLgAlignMask) : 0; }
int WithAlignment(int flags, size_t alignment) {
  flags &= ~kLgAlignMask;
  return alignment > 1 ? flags | __builtin_ctzll(alignment) : flags;
}
// Blocks leaktrace made (headers, samples) belong to no arena the program
// chose; releasing them keeps only the tcache choice.
int ReleaseFlags(int flags) { return flags & ~kLgAlignMask & ~kZero & ((1 << kArenaShift) - 1); }
bool HasArena(int flags) { return (static_cast<unsigned>(flags) >> kArenaShift) != 0; }

void* RawMallocx(size_t total, size_t alignment, uintptr_t flags) {
  return real_mallocx(total, WithAlignment(static_cast<int>(flags), alignment));
}

size_t UsableOf(void* p, const BlockRef& b) {
  switch (b.kind) {
    case BlockRef::kBootstrap: return b.size;
    case BlockRef::kExact:
    case BlockRef::kSampled: return real_sallocx(b.base, 0) - b.offset;
    default: return real_sallocx(p, 0);
  }
}

void Release(void* p, const BlockRef& b, int flags) {
  if (b.kind == BlockRef::kBootstrap) return;  // the bootstrap heap is never reused
  ForgetBlock(p, b);
  // Sized only where the size is known to match the real block's size
  // class: exact blocks with the plain 16-byte header were asked for as
  // size + 16 (or resized to that by xallocx). The rest, unsized: jemalloc
  // looks the size up.
  if (b.kind == BlockRef::kExact && b.offset == kExactHeaderBytes)
    real_sdallocx(b.base, b.size + kExactHeaderBytes, ReleaseFlags(flags));
  else
    real_dallocx(b.base, ReleaseFlags(flags));
}

void* Mallocx(size_t size, int flags) {
  return NativeAllocate(size, AlignmentOf(flags), (flags & kZero) != 0, !HasArena(flags), RawMallocx,
                        static_cast<uintptr_t>(flags));
}

void Dallocx(void* p, int flags) {
  if (LT_LIKELY(SurelyPlain(p))) return real_dallocx(p, flags);
  const BlockRef b = ClassifyBlock(p);
  if (b.kind == BlockRef::kPlain) return real_dallocx(p, flags);
  Release(p, b, flags);
}

void Sdallocx(void* p, size_t size, int flags) {
  if (LT_LIKELY(SurelyPlain(p))) return real_sdallocx(p, size, flags);
  const BlockRef b = ClassifyBlock(p);
  if (b.kind == BlockRef::kPlain) return real_sdallocx(p, size, flags);
  Release(p, b, flags);
}

size_t Sallocx(const void* cp, int flags) {
  void* p = const_cast<void*>(cp);
  if (LT_LIKELY(SurelyPlain(p))) return real_sallocx(p, flags);
  return UsableOf(p, ClassifyBlock(p));
}

// Moves a block into a new one of the wrapper's choosing (tracked or not),
// as rallocx would: contents up to the smaller size, ZERO applying to the
// rest.
void* MoveBlock(void* p, const BlockRef& b, void* fresh, size_t size, int flags) {
  if (fresh == nullptr) return nullptr;  // the old block is untouched
  const size_t old_usable = UsableOf(p, b);
  memcpy(fresh, p, old_usable < size ? old_usable : size);
  if (b.kind == BlockRef::kPlain) real_dallocx(p, ReleaseFlags(flags));
  else Release(p, b, flags);
  return fresh;
}

// A sampled block's real block, resized by rallocx: leaktrace's block
// belongs to no arena the program chose, so only the tcache choice and ZERO
// go with it.
void* ResizeRealBlock(void* base, size_t total, uintptr_t flags) {
  return real_rallocx(base, total, ReleaseFlags(static_cast<int>(flags)) | (static_cast<int>(flags) & kZero));
}
size_t RealBlockUsable(void* base, uintptr_t) { return real_sallocx(base, 0); }

void* Rallocx(void* p, size_t size, int flags) {
  const size_t alignment = AlignmentOf(flags);
  const BlockRef b = SurelyPlain(p) ? BlockRef{BlockRef::kPlain, static_cast<char*>(p), 0, 0} : ClassifyBlock(p);
  const bool zero = (flags & kZero) != 0;
  // Sampled mode: a resize is a free and a new allocation, with its own
  // sampling decision (alignment and arena rules as for mallocx).
  const bool may_sample = CurrentMode() == Mode::kSampled && alignment <= kSampledAlignment && !HasArena(flags);
  switch (b.kind) {
    case BlockRef::kPlain: {
      if (may_sample) {
        ThreadState& t = t_state;
        if (const double weight = DecideSample(t, size); weight > 0) {
          if (void* fresh = NewSampledBlock(t, size, zero, weight, alignment)) return MoveBlock(p, b, fresh, size, flags);
        }
      }
      return real_rallocx(p, size, flags);
    }
    case BlockRef::kExact: {
      const size_t offset = alignment <= kExactHeaderBytes ? kExactHeaderBytes : alignment;
      if (offset != b.offset) return MoveBlock(p, b, Mallocx(size, flags), size, flags);
      size_t total;
      if (__builtin_add_overflow(size, offset, &total)) return nullptr;
      ThreadState& t = t_state;
      const uint32_t stack_id = t.busy ? 0 : CaptureStackId(t);
      const ExactHeader old = *ExactHeaderOf(p);
      char* moved = static_cast<char*>(real_rallocx(b.base, total, WithAlignment(flags, offset > 16 ? offset : alignment)));
      if (moved == nullptr) return nullptr;  // the old block is untouched
      return RehomeExact(t, moved, offset, old, stack_id, size);
    }
    case BlockRef::kSampled: {
      if (!may_sample) return MoveBlock(p, b, Mallocx(size, flags), size, flags);
      ThreadState& t = t_state;
      // Resized in place or by jemalloc (amortised), sampled or not by the
      // new decision; only a small unsampled one moves to a plain block.
      if (const double weight = DecideSample(t, size); weight > 0 || size > kBackToPlainBytes)
        return ResizeSampled(t, p, size, size, weight, 0, zero, ResizeRealBlock, RealBlockUsable,
                             static_cast<uintptr_t>(flags), alignment);
      return MoveBlock(p, b, real_mallocx(size, flags), size, flags);
    }
    default:  // a bootstrap block: a new block and a sampling decision
      return MoveBlock(p, b, Mallocx(size, flags), size, flags);
  }
}

size_t Xallocx(void* p, size_t size, size_t extra, int flags) {
  if (LT_LIKELY(SurelyPlain(p))) return real_xallocx(p, size, extra, flags);
  const BlockRef b = ClassifyBlock(p);
  if (b.kind == BlockRef::kPlain) return real_xallocx(p, size, extra, flags);
  // Samples and bootstrap blocks are not resized in place (xallocx may
  // always decline); nor is a block asked to become more aligned than it is.
  if (b.kind != BlockRef::kExact || AlignmentOf(flags) > b.offset) return UsableOf(p, b);
  size_t total;
  if (__builtin_add_overflow(size, b.offset, &total)) return UsableOf(p, b);
  const size_t usable =
      real_xallocx(b.base, total, extra, WithAlignment(flags, b.offset > 16 ? b.offset : AlignmentOf(flags))) - b.offset;
  // Resized: the block is now `usable` bytes (which also keeps a later
  // sized free of size + 16 within its size class).
  if (usable >= size && usable != b.size) ResizedInPlace(p, usable);
  return usable;
}

}  // namespace

// Built on first use: the table holds function addresses, which C++ does not
// count as constants, and static initialisers run after leaktrace's
// start-up constructor.
NativeFamily JemallocFamily() {
  static NativeFunction functions[] = {
    {"mallocx", reinterpret_cast<void*>(&Mallocx), reinterpret_cast<void**>(&real_mallocx), true},
    {"rallocx", reinterpret_cast<void*>(&Rallocx), reinterpret_cast<void**>(&real_rallocx), true},
    {"xallocx", reinterpret_cast<void*>(&Xallocx), reinterpret_cast<void**>(&real_xallocx), true},
    {"sallocx", reinterpret_cast<void*>(&Sallocx), reinterpret_cast<void**>(&real_sallocx), true},
    {"dallocx", reinterpret_cast<void*>(&Dallocx), reinterpret_cast<void**>(&real_dallocx), true},
    {"sdallocx", reinterpret_cast<void*>(&Sdallocx), reinterpret_cast<void**>(&real_sdallocx), true},
};
  return {"jemalloc", functions, sizeof functions / sizeof functions[0]};
}

}  // namespace leaktrace::preload
