// A site's figures (preload/record/shard.h): weighted sums in sampled mode,
// whole numbers in exact mode, in the same 8-byte words, and what a
// snapshot reads from each.
#include "preload/record/shard.h"

#include <gtest/gtest.h>

#include <cstring>

namespace leaktrace::preload {
namespace {

// As a shard's chunk of counters starts.
void Zero(SiteCounters& c) { std::memset(static_cast<void*>(&c), 0, sizeof c); }

TEST(SiteFigures, ExactFiguresAreWholeNumbersAndLiveBlocksAreAllocationsLessFrees) {
  SiteCounters c;
  Zero(c);
  for (int i = 0; i < 5; ++i) {
    BumpWhole(c.alloc_count, 1);
    BumpWhole(c.alloc_bytes, 100 + i);
  }
  BumpWhole(c.free_count, 2);
  BumpWhole(c.free_bytes, 201);
  const SiteFigures f = ReadSiteFigures(c, /*exact=*/true);
  EXPECT_EQ(f.alloc_count, 5);
  EXPECT_EQ(f.alloc_bytes, 510);
  EXPECT_EQ(f.free_count, 2);
  EXPECT_EQ(f.free_bytes, 201);
  EXPECT_EQ(f.var_count, 0);
  EXPECT_EQ(f.var_bytes, 0);
  EXPECT_EQ(f.live_samples, 3);
}

// A thread that frees blocks another thread allocated books only frees:
// its shard's live blocks are negative, and the sum over shards is right.
TEST(SiteFigures, ExactFreesOnAnotherShardAreNegativeLiveBlocks) {
  SiteCounters allocating, freeing;
  Zero(allocating);
  Zero(freeing);
  BumpWhole(allocating.alloc_count, 4);
  BumpWhole(freeing.free_count, 3);
  EXPECT_EQ(ReadSiteFigures(allocating, true).live_samples, 4);
  EXPECT_EQ(ReadSiteFigures(freeing, true).live_samples, -3);
}

// Whole numbers stay exact past 2^53, where a double sum would round.
TEST(SiteFigures, ExactBytesAreIntegers) {
  SiteCounters c;
  Zero(c);
  BumpWhole(c.alloc_bytes, uint64_t{1} << 53);
  BumpWhole(c.alloc_bytes, 1);
  EXPECT_EQ(c.alloc_bytes.bits.load(), (uint64_t{1} << 53) + 1);
}

TEST(SiteFigures, SampledFiguresAreWeightedSums) {
  SiteCounters c;
  Zero(c);
  Bump(c.alloc_count, 2.5);
  Bump(c.alloc_count, 1.25);
  Bump(c.alloc_bytes, 2.5 * 4096);
  Bump(c.free_count, 1.25);
  Bump(c.var_count, 2.5 * 1.5);
  Bump(c.live_samples, 1);
  const SiteFigures f = ReadSiteFigures(c, /*exact=*/false);
  EXPECT_DOUBLE_EQ(f.alloc_count, 3.75);
  EXPECT_DOUBLE_EQ(f.alloc_bytes, 10240);
  EXPECT_DOUBLE_EQ(f.free_count, 1.25);
  EXPECT_DOUBLE_EQ(f.var_count, 3.75);
  EXPECT_EQ(f.live_samples, 1);
}

}  // namespace
}  // namespace leaktrace::preload
