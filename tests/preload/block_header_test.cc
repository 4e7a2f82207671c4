// Block headers (preload/heap/block_header.h): where a sampled block's
// pointer lies in its real block, the check word that tells it from any
// other block, and the exact header's packed age slot.
#include "preload/heap/block_header.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

// glibc's own allocator, whatever malloc is interposed in this test.
extern "C" void* __libc_malloc(size_t);
extern "C" void __libc_free(void*);

namespace leaktrace::preload {
namespace {

TEST(BlockHeader, OnlyPage64AndPage80PointersMayBeSampled) {
  for (uintptr_t offset = 0; offset < kPageSize; offset += 16) {
    const bool expected = offset == kSampledOffset || offset == kSampledOffsetNear;
    EXPECT_EQ(MaybeSampled(reinterpret_cast<void*>(0x7f0000001000 + offset)), expected) << "offset " << offset;
  }
}

TEST(BlockHeader, SampledPointerAndHeaderLieInsideTheRealBlock) {
  // A real block of size + kSampledSlack bytes, wherever the allocator put
  // it: the pointer is page + 64 or page + 80 (page + 64 when aligned),
  // its header fits before it, its `size` bytes after it, all inside the
  // real block.
  constexpr size_t kSize = 100;
  std::vector<char> arena(4 * kPageSize + kSampledSlack + kSize);
  char* const page = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(arena.data()) + kPageSize - 1) & ~(kPageSize - 1));
  for (uintptr_t shift = 0; shift < kPageSize + 32; shift += 16) {
    for (const bool aligned : {false, true}) {
      char* base = page + shift;
      char* p = SampledPointerIn(base, aligned);
      const uintptr_t offset = reinterpret_cast<uintptr_t>(p) & (kPageSize - 1);
      EXPECT_TRUE(MaybeSampled(p)) << "shift " << shift;
      EXPECT_TRUE(offset == kSampledOffset || (!aligned && offset == kSampledOffsetNear)) << "shift " << shift;
      if (aligned) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kSampledAlignment, 0u) << "shift " << shift;
      }
      EXPECT_GE(p - sizeof(SampledHeader), base) << "shift " << shift;
      EXPECT_LE(p + kSize, base + kSize + kSampledSlack) << "shift " << shift;
      EXPECT_EQ(reinterpret_cast<char*>(SampledHeaderOf(p)), p - sizeof(SampledHeader));
      // The nearest place: one page lower would not hold the header.
      EXPECT_LT(p - kPageSize - sizeof(SampledHeader), base) << "shift " << shift;
    }
  }
}

// glibc's mmapped chunks start 16 bytes into a page: the header then shares
// that page (page + 80), so a big sampled calloc makes no page resident that
// the real calloc did not.
TEST(BlockHeader, AChunkSixteenBytesIntoAPageKeepsItsHeaderInThatPage) {
  alignas(4096) static char pages[3 * kPageSize];
  EXPECT_EQ(SampledPointerIn(pages + 16), pages + kSampledOffsetNear);
  EXPECT_EQ(SampledPointerIn(pages + 16, true), pages + kPageSize + kSampledOffset);
  EXPECT_EQ(SampledPointerIn(pages), pages + kSampledOffset);
  EXPECT_EQ(SampledPointerIn(pages + 32), pages + kPageSize + kSampledOffset);
}

TEST(BlockHeader, CheckWordConfirmsOnlyTheBlockItWasWrittenFor) {
  alignas(4096) static char page[2 * kPageSize] = {};
  char* p = page + kSampledOffset;
  EXPECT_FALSE(IsSampledBlock(p)) << "zeroed memory never passes";
  SampledHeaderOf(p)->check = SampledCheck(p);
  EXPECT_TRUE(IsSampledBlock(p));
  // The same word before another page's block does not pass for it.
  char* q = page + kPageSize + kSampledOffset;
  SampledHeaderOf(q)->check = SampledCheck(p);
  EXPECT_FALSE(IsSampledBlock(q));
  // Another secret (another process): the old word no longer passes.
  const uint64_t saved = g_check_secret;
  g_check_secret ^= 0x9E3779B97F4A7C15ULL;
  EXPECT_FALSE(IsSampledBlock(p));
  g_check_secret = saved;
  EXPECT_TRUE(IsSampledBlock(p));
}

TEST(BlockHeader, ExactHeaderSitsRightBeforeTheBlockAndPacksTheAgeSlot) {
  alignas(16) char block[64] = {};
  char* p = block + kExactHeaderBytes;
  EXPECT_EQ(reinterpret_cast<char*>(ExactHeaderOf(p)), block);
  ExactHeader h = {};
  for (uint32_t slot : {0u, 1u, 255u, 256u, 65535u, 65536u, (1u << 24) - 1}) {
    SetAgeSlot(h, slot);
    EXPECT_EQ(AgeSlotOf(h), slot);
  }
  // The slot does not spill into its neighbours.
  h.stack_id = 7;
  SetExactOffsetLog2(h, 4);
  h.size = 12345;
  SetAgeSlot(h, (1u << 24) - 1);
  EXPECT_EQ(h.stack_id, 7u);
  EXPECT_EQ(ExactOffset(h), 16u);
  EXPECT_EQ(h.size, 12345u);
  EXPECT_TRUE(IsExactHeader(h));
}

// A block glibc hands out directly keeps its chunk size in the 8 bytes before
// the pointer: the tag byte reads 0 there, so such a block (a RTLD_DEEPBIND
// library's constructor takes them) is never mistaken for an exact block.
TEST(BlockHeader, ABlockFromTheRealAllocatorIsNotAnExactBlock) {
  for (size_t size : {size_t{1}, size_t{24}, size_t{1000}, size_t{200000}, size_t{1} << 24}) {
    void* p = __libc_malloc(size);
    ASSERT_NE(p, nullptr);
    EXPECT_FALSE(IsExactHeader(*ExactHeaderOf(p))) << size;
    __libc_free(p);
  }
  ExactHeader h = {};
  for (unsigned log2 : {4u, 6u, 12u, 20u}) {
    SetExactOffsetLog2(h, log2);
    EXPECT_TRUE(IsExactHeader(h));
    EXPECT_EQ(ExactOffset(h), size_t{1} << log2);
  }
}

}  // namespace
}  // namespace leaktrace::preload
