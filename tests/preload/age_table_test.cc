// The age table (preload/heap/age_table.h): a recorded block is seen by the
// walk with what it was recorded with, until it is removed.
#include "preload/heap/age_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

namespace leaktrace::preload {
namespace {

// Blocks the walk sees, by stack id, for stack ids in [first, first + n).
std::map<uint32_t, AgedBlock> Seen(uint32_t first, uint32_t n) {
  std::map<uint32_t, AgedBlock> seen;
  ForEachAgedBlock([&](const AgedBlock& b) {
    if (b.stack_id >= first && b.stack_id < first + n) seen[b.stack_id] = b;
  });
  return seen;
}

TEST(AgeTable, RecordedBlocksAreWalkedUntilRemoved) {
  constexpr uint32_t kFirst = 1000, kBlocks = 500;
  std::vector<char> blocks(kBlocks * 64);
  std::vector<uint32_t> slots;
  for (uint32_t i = 0; i < kBlocks; ++i) {
    const uint32_t slot = AgeTableInsert(&blocks[i * 64], kFirst + i, 100 + i, 1.5 * (i + 1), 1000000 + i);
    ASSERT_NE(slot, 0u) << "block " << i;
    slots.push_back(slot);
  }
  std::map<uint32_t, AgedBlock> seen = Seen(kFirst, kBlocks);
  ASSERT_EQ(seen.size(), kBlocks);
  for (uint32_t i = 0; i < kBlocks; ++i) {
    const AgedBlock& b = seen[kFirst + i];
    EXPECT_EQ(b.size, 100u + i);
    EXPECT_DOUBLE_EQ(b.weight, 1.5 * (i + 1));
    EXPECT_EQ(b.birth_ns, 1000000u + i);
  }
  for (uint32_t i = 0; i < kBlocks; i += 2) AgeTableRemove(slots[i]);
  seen = Seen(kFirst, kBlocks);
  EXPECT_EQ(seen.size(), kBlocks / 2);
  for (uint32_t i = 0; i < kBlocks; ++i) EXPECT_EQ(seen.count(kFirst + i), i % 2) << "block " << i;
  for (uint32_t i = 1; i < kBlocks; i += 2) AgeTableRemove(slots[i]);
  EXPECT_TRUE(Seen(kFirst, kBlocks).empty());
  AgeTableRemove(0);  // "not aged": ignored
}

TEST(AgeTable, AnUpdatedEntryIsWalkedWithItsNewBookingInItsSlot) {
  // A realloc that keeps its block rewrites its entry in place.
  char block = 0;
  const uint32_t slot = AgeTableInsert(&block, 6001, 64, 3.0, 5000);
  ASSERT_NE(slot, 0u);
  AgeTableUpdate(slot, 6002, 128, 2.0, 6000);
  std::map<uint32_t, AgedBlock> seen = Seen(6001, 2);
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_EQ(seen.count(6002), 1u);
  EXPECT_EQ(seen[6002].size, 128u);
  EXPECT_DOUBLE_EQ(seen[6002].weight, 2.0);
  EXPECT_EQ(seen[6002].birth_ns, 6000u);
  // The same birth again still tells the entries apart (a reader compares
  // births): it moves on by a nanosecond.
  AgeTableUpdate(slot, 6002, 192, 1.0, 6000);
  seen = Seen(6001, 2);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[6002].size, 192u);
  EXPECT_EQ(seen[6002].birth_ns, 6001u);
  AgeTableRemove(slot);
  EXPECT_TRUE(Seen(6001, 2).empty());
  AgeTableUpdate(0, 6003, 1, 1.0, 7000);  // "not aged": ignored
  EXPECT_TRUE(Seen(6003, 1).empty());
}

TEST(AgeTable, BirthTimesThatLookLikeSlotStatesAreKept) {
  // 0 and 1 mean "empty" and "being written" in a slot: a block born at
  // either time must still be walked.
  char a = 0, b = 0;  // only their addresses are used
  const uint32_t slot_a = AgeTableInsert(&a, 5001, 8, 1.0, 0);
  const uint32_t slot_b = AgeTableInsert(&b, 5002, 8, 1.0, 1);
  ASSERT_NE(slot_a, 0u);
  ASSERT_NE(slot_b, 0u);
  std::map<uint32_t, AgedBlock> seen = Seen(5001, 2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GT(seen[5001].birth_ns, 1u);
  EXPECT_GT(seen[5002].birth_ns, 1u);
  AgeTableRemove(slot_a);
  AgeTableRemove(slot_b);
}

TEST(AgeTable, AProcesssFirstAgedBlocksShareOnePage) {
  // A fresh table's part in use is one page: a process's first few dozen
  // aged blocks touch that page alone (each page more is a fault, 1-2 us,
  // in the allocation that reaches it). Each test runs in a process of its
  // own (ctest), so the table is fresh here unless the whole binary runs.
  if (AgeTableBytes() != 0) GTEST_SKIP() << "the table was used by an earlier test in this process";
  constexpr uint32_t kFirst = 40000, kBlocks = 40;
  std::vector<uint32_t> slots;
  for (uint32_t i = 0; i < kBlocks; ++i) {
    // Heap-like addresses: scattered pages, 16-byte aligned.
    const uintptr_t address = 0x7f0000000000ULL + (i * 2654435761ULL) % 1000003ULL * 4096 + (i % 7) * 16;
    const uint32_t slot = AgeTableInsert(reinterpret_cast<const void*>(address), kFirst + i, 64, 1.0, 3000000 + i);
    ASSERT_NE(slot, 0u) << "block " << i;
    slots.push_back(slot);
  }
  EXPECT_LE(*std::max_element(slots.begin(), slots.end()), age_table_detail::kFirstLimit);
  EXPECT_EQ(AgeTableBytes(), 4096u);
  uintptr_t start[2];
  uint64_t bytes[2];
  ASSERT_EQ(AgeTableRanges(start, bytes), 1);
  EXPECT_EQ(bytes[0], 4096u);
  EXPECT_EQ(Seen(kFirst, kBlocks).size(), kBlocks);
  for (const uint32_t slot : slots) AgeTableRemove(slot);
}

TEST(AgeTable, EntriesPastTheStaticSlotsAreWalkedAndMeasuredToo) {
  // Many more blocks than the static slots hold (1,024): the limit grows
  // into the mapping, every entry is walked with what it
  // was recorded with wherever it landed, and the ranges the resident
  // figure is measured over cover the table's bytes in use. The blocks'
  // addresses are made up (the table never reads a block), spread as heap
  // blocks are, and fixed: the slots they get are the same at every run.
  constexpr uint32_t kFirst = 20000, kBlocks = 4000;
  std::vector<uint32_t> slots;
  for (uint32_t i = 0; i < kBlocks; ++i) {
    const uintptr_t address = 0x7f0000000000ULL + (i * 2654435761ULL) % 1000003ULL * 4096 + (i % 7) * 16;
    const uint32_t slot = AgeTableInsert(reinterpret_cast<const void*>(address), kFirst + i, 10 + i, 1.0, 3000000 + i);
    ASSERT_NE(slot, 0u) << "block " << i;
    slots.push_back(slot);
  }
  EXPECT_GT(*std::max_element(slots.begin(), slots.end()), age_table_detail::kStaticSlots);
  // The part in use follows the number of blocks (slots are never moved, so
  // a limit that doubled at every crowded window once reached the whole
  // table with 1,200 blocks: a page touched for each block from then on).
  EXPECT_LE(AgeTableBytes(), 4 * kBlocks * sizeof(age_table_detail::Slot));
  std::map<uint32_t, AgedBlock> seen = Seen(kFirst, kBlocks);
  ASSERT_EQ(seen.size(), kBlocks);
  for (uint32_t i = 0; i < kBlocks; ++i) EXPECT_EQ(seen[kFirst + i].size, 10u + i) << "block " << i;
  uintptr_t start[2];
  uint64_t bytes[2];
  ASSERT_EQ(AgeTableRanges(start, bytes), 2);
  EXPECT_EQ(bytes[0] + bytes[1], AgeTableBytes());
  EXPECT_EQ(bytes[0], age_table_detail::kStaticSlots * sizeof(age_table_detail::Slot));
  for (const uint32_t slot : slots) AgeTableRemove(slot);
  EXPECT_TRUE(Seen(kFirst, kBlocks).empty());
}

}  // namespace
}  // namespace leaktrace::preload
