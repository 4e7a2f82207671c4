// The stack table: one id per distinct stack, even for stacks that share a
// hash (the hash finds the slot, the frames decide).
#include "preload/record/stack_table.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace leaktrace::preload {
namespace {

TEST(StackTable, StacksSharingAHashGetTheirOwnIds) {
  Arena arena;
  constexpr uint64_t kHash = 0x5eed5eed5eed5eedULL;  // forced: the same for all three
  const uint64_t a[] = {0x401000, 0x402000, 0x403000};
  const uint64_t b[] = {0x401000, 0x402000, 0x404000};
  const uint64_t* stored = nullptr;
  const uint32_t id_a = InternStack(kHash, a, 3, 0, arena, &stored);
  ASSERT_NE(id_a, 0u);
  ASSERT_NE(stored, nullptr);
  EXPECT_NE(stored, a) << "the table keeps its own copy";
  EXPECT_EQ(stored[2], 0x403000u);
  const uint32_t id_b = InternStack(kHash, b, 3, 0, arena);
  ASSERT_NE(id_b, 0u);
  EXPECT_NE(id_b, id_a) << "a hash collision must not merge two stacks";
  EXPECT_EQ(InternStack(kHash, a, 3, 0, arena), id_a);
  EXPECT_EQ(InternStack(kHash, b, 3, 0, arena), id_b);
  // Same frames, different depth or truncation flag: different stacks.
  const uint32_t id_short = InternStack(kHash, a, 2, 0, arena);
  const uint32_t id_truncated = InternStack(kHash, a, 3, 1, arena);
  EXPECT_NE(id_short, id_a);
  EXPECT_NE(id_truncated, id_a);
  EXPECT_NE(id_short, id_truncated);
  int seen = 0;
  ForEachStack([&](const StackView& s) { seen += s.id == id_a || s.id == id_b || s.id == id_short || s.id == id_truncated; });
  EXPECT_EQ(seen, 4);
}

TEST(StackTable, GrowsPastItsFirstGenerationKeepingEveryId) {
  // More stacks than the first generation holds (1,024 slots, grown when
  // crowded): every stack keeps the id it was given, ids are distinct and
  // dense, and a second lookup finds each one wherever it went.
  Arena arena;
  constexpr uint32_t kStacks = 40000;
  std::vector<uint32_t> ids(kStacks);
  const uint32_t before = MaxStackId();
  for (uint32_t i = 0; i < kStacks; ++i) {
    const uint64_t pcs[] = {0x900000 + i, 0x7000};
    ids[i] = InternStack(0x1234567ULL * (i + 1) + 0xabcdef, pcs, 2, 0, arena);
    ASSERT_NE(ids[i], 0u) << "stack " << i;
  }
  EXPECT_EQ(MaxStackId(), before + kStacks);
  EXPECT_EQ(std::set<uint32_t>(ids.begin(), ids.end()).size(), kStacks);
  EXPECT_GT(StackTableSlots(), 16384u);
  for (uint32_t i = 0; i < kStacks; ++i) {
    const uint64_t pcs[] = {0x900000 + i, 0x7000};
    ASSERT_EQ(InternStack(0x1234567ULL * (i + 1) + 0xabcdef, pcs, 2, 0, arena), ids[i]) << "stack " << i;
  }
}

TEST(StackTable, EveryStackKeepsItsFramesWhereverTheyAreCopied) {
  // The first generation keeps its first stacks' frames beside its header,
  // the rest go to the caller's arena: each stack is walked with its own
  // frames either way, and its stored copy is the table's, not the caller's.
  Arena arena;
  constexpr uint32_t kStacks = 200, kDepth = 7;
  std::vector<uint32_t> ids(kStacks);
  for (uint32_t i = 0; i < kStacks; ++i) {
    uint64_t pcs[kDepth];
    for (uint32_t k = 0; k < kDepth; ++k) pcs[k] = 0x5000000 + i * 64 + k;
    const uint64_t* stored = nullptr;
    ids[i] = InternStack(0xfeed0000ULL + i * 0x9E3779B97F4A7C15ULL, pcs, kDepth, 0, arena, &stored);
    ASSERT_NE(ids[i], 0u) << "stack " << i;
    ASSERT_NE(stored, nullptr);
    EXPECT_NE(stored, pcs);
    EXPECT_EQ(stored[kDepth - 1], pcs[kDepth - 1]);
  }
  uint32_t checked = 0;
  ForEachStack([&](const StackView& s) {
    for (uint32_t i = 0; i < kStacks; ++i) {
      if (s.id != ids[i]) continue;
      ++checked;
      ASSERT_EQ(s.depth, kDepth);
      for (uint32_t k = 0; k < kDepth; ++k) EXPECT_EQ(s.pcs[k], 0x5000000 + i * 64 + k) << "stack " << i;
    }
  });
  EXPECT_EQ(checked, kStacks);
}

}  // namespace
}  // namespace leaktrace::preload
