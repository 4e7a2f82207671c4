// The stack table: one id per distinct stack, even for stacks that share a
// hash (the hash finds the slot, the frames decide).
#include "preload/record/stack_table.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace leaktrace::preload
