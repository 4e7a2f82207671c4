// Where the tracker keeps what it knows about a tracked block: in front of the
// block itself, so a free (on any thread) needs no table and no lock.
//
// Exact mode (LEAKTRACE_SAMPLE=1): every block the program gets from us has an
// ExactHeader in the 16 bytes before it. The real block starts `offset` bytes
// earlier (16, or the alignment asked for when larger).
//
// Sampled mode: only sampled blocks carry a header. They are placed 64 or
// 80 bytes into a page, so a free can rule "sampled" out with one test on
// the pointer's low bits (the two offsets differ in one bit, which the test
// masks). A pointer that passes the test is confirmed by a 64-bit check word
// right before it, which always lies in the same page as the pointer and so
// is safe to read for any block.
//
// A sampled block is carved from an ordinary block of the real allocator
// (malloc, or calloc for calloc: never memalign + memset, which would make a
// lazily zeroed block resident) that is kSampledSlack bytes larger than asked:
// the program's pointer is the first place at page + 64 or page + 80 with
// the 64-byte header inside the real block, and the header records how far
// into the real block that is. Page + 80 is there for glibc's mmapped chunks,
// which start 16 bytes into a page: the header then shares the page the
// allocator's own chunk header already made resident, and a big sampled
// calloc faults no page more than without leaktrace. A block aligned to
// more than 16 always sits at page + 64 (aligned to 64). A resize is the real
// realloc of the real block plus, only when the real allocator moved it to
// another page offset, one memmove (rare for big blocks: glibc's mmapped
// chunks keep their offset through mremap).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

inline constexpr uintptr_t kPageSize = 4096;
inline constexpr uintptr_t kSampledOffset = 64;  // sampled blocks sit here in their page, or at
inline constexpr uintptr_t kSampledOffsetNear = 80;  // this one, just past a 16-byte chunk header
inline constexpr size_t kSampledAlignment = 64;  // what page + 64 is aligned to: the most a sampled block has
inline constexpr uintptr_t kExactHeaderBytes = 16;
// A sampled block's real block is the program's size plus this: the header,
// and up to a page to reach the next page + 64 from wherever the real
// allocator's block starts (page + 80 is chosen only when nearer).
inline constexpr size_t kSampledSlack = kPageSize + kSampledOffset;

// True when `p` might be a sampled block (or a bootstrap block).
// One and, one compare: the mask drops the bit in which 64 and 80 differ.
inline bool MaybeSampled(const void* p) {
  static_assert((kSampledOffset ^ kSampledOffsetNear) == 16 && (kSampledOffset & 16) == 0);
  return (reinterpret_cast<uintptr_t>(p) & (kPageSize - 1) & ~uintptr_t{16}) == kSampledOffset;
}

struct ExactHeader {
  uint64_t size;         // bytes the program asked for
  uint32_t stack_id;     // 0: not tracked (allocated while leaktrace itself was busy)
  uint8_t age_slot[3];   // little-endian AgeTableInsert result; 0: not aged (age_table.h)
  uint8_t offset_tag;    // kExactTag | log2 of the offset: real block = p - (1 << log2)
};
static_assert(sizeof(ExactHeader) == kExactHeaderBytes);

// The last byte before an exact block marks it as ours. glibc keeps a
// chunk's size in the 8 bytes before the pointer, and no size reaches 2^56,
// so the byte there is 0 in every block glibc hands out directly: a block a
// RTLD_DEEPBIND library's constructor took from libc before leaktrace could
// repoint its imports (deepbind.h) is told apart and given back to libc.
inline constexpr uint8_t kExactTag = 0xC0;
// The tag of a block whose header is 2^log2 bytes after its real block's start.
inline constexpr uint8_t ExactOffsetTag(unsigned log2) { return static_cast<uint8_t>(kExactTag | log2); }
inline void SetExactOffsetLog2(ExactHeader& h, unsigned log2) { h.offset_tag = ExactOffsetTag(log2); }
inline size_t ExactOffset(const ExactHeader& h) { return size_t{1} << (h.offset_tag & ~kExactTag); }
inline bool IsExactHeader(const ExactHeader& h) { return (h.offset_tag & kExactTag) == kExactTag; }

// A fresh exact block's header: `offset` (a power of two, >= 16) bytes
// after its real block's start, not aged.
inline void InitExactHeader(ExactHeader& h, uint64_t size, uint32_t stack_id, size_t offset) {
  h.size = size;
  h.stack_id = stack_id;
  h.age_slot[0] = h.age_slot[1] = h.age_slot[2] = 0;
  SetExactOffsetLog2(h, static_cast<unsigned>(63 - __builtin_clzll(offset)));
}

inline uint32_t AgeSlotOf(const ExactHeader& h) {
  return h.age_slot[0] | (uint32_t{h.age_slot[1]} << 8) | (uint32_t{h.age_slot[2]} << 16);
}
inline void SetAgeSlot(ExactHeader& h, uint32_t slot_plus_one) {  // < 2^24 (age_table.h capacity)
  h.age_slot[0] = static_cast<uint8_t>(slot_plus_one);
  h.age_slot[1] = static_cast<uint8_t>(slot_plus_one >> 8);
  h.age_slot[2] = static_cast<uint8_t>(slot_plus_one >> 16);
}

// The header's second 8 bytes as one word (little-endian): the stack id in
// bits 0-31, the age slot + 1 in bits 32-55, the offset tag in bits 56-63.
// A free or a realloc reads the header its malloc or previous realloc wrote
// a moment before: read and written as whole words, each load is forwarded
// from the one store that wrote it, where a 16-byte copy or byte-wise writes
// would span several stores still in flight, which the CPU cannot forward
// (a stall of a dozen cycles on every free after a malloc, and on every
// realloc of a buffer grown in steps).
inline constexpr uint64_t ExactHeaderWord(uint32_t stack_id, uint32_t slot_plus_one, uint8_t offset_tag) {
  return stack_id | (uint64_t{slot_plus_one & 0xffffff} << 32) | (uint64_t{offset_tag} << 56);
}
// Relaxed atomic loads: the compiler must not merge the two words into one
// 16-byte load, which is exactly what cannot be forwarded. The header is
// 8-byte aligned (16 bytes in front of a 16-aligned pointer).
inline uint64_t LoadExactHeaderWord(const void* p) {
  return __atomic_load_n(reinterpret_cast<const uint64_t*>(static_cast<const char*>(p) - 8), __ATOMIC_RELAXED);
}
inline bool IsExactWord(uint64_t word) {
  constexpr uint64_t kTagBits = uint64_t{kExactTag} << 56;
  return (word & kTagBits) == kTagBits;
}
inline uint32_t StackIdOfWord(uint64_t word) { return static_cast<uint32_t>(word); }
inline uint32_t AgeSlotOfWord(uint64_t word) { return static_cast<uint32_t>(word >> 32) & 0xffffff; }
inline size_t OffsetOfWord(uint64_t word) { return size_t{1} << ((word >> 56) & ~uint64_t{kExactTag}); }

// The header of the exact block `p` in two 8-byte loads, and written whole
// in two 8-byte stores (`slot_plus_one` < 2^24, `offset_tag` as
// ExactOffsetTag makes it).
inline uint64_t LoadExactHeaderSize(const void* p) {
  return __atomic_load_n(reinterpret_cast<const uint64_t*>(static_cast<const char*>(p) - 16), __ATOMIC_RELAXED);
}
// The header of `size` and the second word `word`.
inline ExactHeader ExactHeaderOfWords(uint64_t size, uint64_t word) {
  ExactHeader h;
  h.size = size;
  std::memcpy(reinterpret_cast<char*>(&h) + 8, &word, sizeof word);  // stack_id, age_slot, offset_tag
  return h;
}
inline ExactHeader LoadExactHeader(const void* p) {
  const uint64_t size = LoadExactHeaderSize(p);
  return ExactHeaderOfWords(size, LoadExactHeaderWord(p));
}
inline void StoreExactHeader(ExactHeader& h, uint64_t size, uint32_t stack_id, uint32_t slot_plus_one,
                             uint8_t offset_tag) {
  const uint64_t word = ExactHeaderWord(stack_id, slot_plus_one, offset_tag);
  h.size = size;
  std::memcpy(reinterpret_cast<char*>(&h) + 8, &word, sizeof word);
}
// The size alone, the second word as it is (a block resized at its site).
inline void StoreExactHeaderSize(void* p, uint64_t size) {
  __atomic_store_n(reinterpret_cast<uint64_t*>(static_cast<char*>(p) - 16), size, __ATOMIC_RELAXED);
}
static_assert(offsetof(ExactHeader, stack_id) == 8 && offsetof(ExactHeader, offset_tag) == 15);

struct SampledHeader {   // occupies [p - 64, p)
  uint32_t stack_id;
  uint32_t base_offset;  // p - the real block's start: 64 .. kSampledSlack - 1
  uint64_t size;         // bytes the program asked for (at its last realloc): what is booked
  double weight;         // Horvitz-Thompson weight 1/(1 - exp(-offered/T)); 0: not sampled
  uint64_t offered;      // bytes of the sampling line this block has been offered since its
                         // last fresh decision (heap_paths.cc, ReallocateSampled): weight's c
  uint64_t capacity;     // bytes the real block is sized for (>= size: realloc's headroom)
  uint64_t birth_ns;     // CLOCK_MONOTONIC when allocated
  uint32_t age_slot;     // AgeTableInsert result; 0: not aged (table full)
  uint32_t usable_extra; // malloc_usable_size as the program sees it (a plain block's of `size`,
                         // PlainUsable) minus size; kUsableUnknown: not measured yet
  uint64_t check;        // SampledCheck(p): marks the block as ours
};
static_assert(sizeof(SampledHeader) == kSampledOffset);
static_assert(kSampledSlack >= kPageSize + sizeof(SampledHeader), "room for the farthest pointer");

// SampledHeader::usable_extra before anyone asked (heap_paths.cc, UsableOf).
inline constexpr uint32_t kUsableUnknown = UINT32_MAX;

// The program's pointer inside a real block of a sampled allocation (`base`,
// aligned to 16 at least): the first address at page + 64 or page + 80 with
// the whole header inside the block; with `aligned` (the program asked for
// more than 16), the first at page + 64.
inline char* SampledPointerIn(void* base, bool aligned = false) {
  const uintptr_t lowest = reinterpret_cast<uintptr_t>(base) + sizeof(SampledHeader);
  const uintptr_t page = lowest & ~(kPageSize - 1), offset = lowest & (kPageSize - 1);
  uintptr_t p;
  if (offset <= kSampledOffset) p = page + kSampledOffset;
  else if (offset <= kSampledOffsetNear && !aligned) p = page + kSampledOffsetNear;
  else p = page + kPageSize + kSampledOffset;
  return reinterpret_cast<char*>(p);
}

// Whether the exact header in front of `p` may be read at all. A block
// that begins a page may be another allocator's, handed out past
// leaktrace's malloc and freed through its free (jemalloc's operator new
// and delete: the one calls jemalloc's malloc within, the other free@plt),
// with nothing mapped in front of it: such a pointer is asked about by a
// system call (HeaderBeforePageReadable, heap_paths.cc). Every other
// pointer's header lies in its own page.
bool HeaderBeforePageReadable(const void* p);
LT_ALWAYS_INLINE bool ExactHeaderReadable(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 4095) != 0 || HeaderBeforePageReadable(p);
}

inline ExactHeader* ExactHeaderOf(void* p) {
  return reinterpret_cast<ExactHeader*>(static_cast<char*>(p) - kExactHeaderBytes);
}
inline SampledHeader* SampledHeaderOf(void* p) {
  return reinterpret_cast<SampledHeader*>(static_cast<char*>(p) - sizeof(SampledHeader));
}

// Per-process secret mixed into the check word, so program data that happens
// to sit before a block cannot pass for a header.
extern LT_HIDDEN uint64_t g_check_secret;

inline uint64_t SampledCheck(const void* p) {
  uint64_t x = reinterpret_cast<uintptr_t>(p) ^ g_check_secret;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x | 1;  // never zero: zeroed memory never passes
}

// Reads only the 8 bytes right before p (same page, see above).
inline bool IsSampledBlock(const void* p) {
  uint64_t check;
  std::memcpy(&check, static_cast<const char*>(p) - sizeof check, sizeof check);
  return check == SampledCheck(p);
}

}  // namespace leaktrace::preload
