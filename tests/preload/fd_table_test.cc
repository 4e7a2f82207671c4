// The descriptor table (preload/resources/fd_table.h): one slot per
// descriptor number, recorded after the real call, forgotten before the
// real close, walked by the dumper with each descriptor's birth.
#include "preload/resources/fd_table.h"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "preload/internal/coarse_clock.h"

namespace leaktrace::preload {
namespace {

struct Entry {
  uint32_t stack_id, label_id;
  int64_t birth;
};

// What the walk sees among descriptors [first, last].
std::map<int, Entry> Seen(int first, int last) {
  std::map<int, Entry> seen;
  ForEachFdWithBirth([&](int fd, uint32_t stack_id, uint32_t label_id, int64_t birth) {
    if (fd >= first && fd <= last) seen[fd] = {stack_id, label_id, birth};
  });
  return seen;
}

TEST(FdTable, RecordForgetAndWalk) {
  FdRecord(100, 7, 3);
  FdRecord(101, 8, 4);
  EXPECT_TRUE(FdRecorded(100));
  EXPECT_EQ(FdLabel(101), 4u);
  EXPECT_FALSE(FdRecorded(102));
  EXPECT_EQ(FdLabel(102), 0u);
  std::map<int, Entry> seen = Seen(100, 102);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(std::tie(seen[100].stack_id, seen[100].label_id), std::make_tuple(7u, 3u));
  EXPECT_EQ(std::tie(seen[101].stack_id, seen[101].label_id), std::make_tuple(8u, 4u));
  EXPECT_GT(seen[100].birth, 0) << "a birth time is kept with each descriptor";
  EXPECT_LE(seen[100].birth, seen[101].birth) << "recorded one after the other";
  FdForget(100);
  EXPECT_FALSE(FdRecorded(100));
  EXPECT_EQ(Seen(100, 102).size(), 1u);
  FdForget(101);
  FdForget(102);  // never recorded: nothing happens
  EXPECT_TRUE(Seen(100, 102).empty());
}

TEST(FdTable, ARecordOverAnOpenDescriptorReplacesIt) {
  // dup2 onto an open descriptor: the new creation wins.
  FdRecord(200, 1, 1);
  FdRecord(200, 2, 5);
  std::map<int, Entry> seen = Seen(200, 200);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[200].stack_id, 2u);
  EXPECT_EQ(seen[200].label_id, 5u);
  FdForget(200);
}

TEST(FdTable, TakeForgetsAndRestorePutsBackWithTheSameBirth) {
  // dup2/dup3 take the target's record before the real call and put it back
  // when the call fails.
  FdRecord(250, 3, 6);
  const Entry before = Seen(250, 250)[250];
  const uint64_t taken = FdTake(250);
  EXPECT_EQ(taken, (uint64_t{3} << 32) | 6);
  EXPECT_FALSE(FdRecorded(250));
  EXPECT_FALSE(FdStillHolds(250, 3, 6, before.birth));
  FdRestore(250, taken);
  std::map<int, Entry> seen = Seen(250, 250);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(std::tie(seen[250].stack_id, seen[250].label_id, seen[250].birth),
            std::tie(before.stack_id, before.label_id, before.birth));
  EXPECT_TRUE(FdStillHolds(250, 3, 6, before.birth));
  EXPECT_EQ(FdTake(251), 0u) << "never recorded";
  FdRestore(251, 0);
  EXPECT_FALSE(FdRecorded(251));
  FdForget(250);
}

TEST(FdTable, StillHoldsTellsAReplacementWithTheSameWordByItsBirth) {
  // Closed and opened again from the same stack with the same label: the
  // same word, another birth (on the coarse clock births are taken on: a
  // tick later).
  FdRecord(260, 4, 2);
  const Entry first = Seen(260, 260)[260];
  FdForget(260);
  while (static_cast<int64_t>(CoarseMonotonicNs()) <= first.birth) {
  }
  FdRecord(260, 4, 2);
  EXPECT_FALSE(FdStillHolds(260, 4, 2, first.birth));
  EXPECT_TRUE(FdStillHolds(260, 4, 2, Seen(260, 260)[260].birth));
  EXPECT_FALSE(FdStillHolds(260, 4, 3, Seen(260, 260)[260].birth));
  FdForget(260);
}

TEST(FdTable, AStackIdOfZeroRecordsNothing) {
  FdRecord(300, 0, 9);
  EXPECT_FALSE(FdRecorded(300));
}

TEST(FdTable, HighNumbersAndRangesAcrossChunks) {
  // Past the first chunk of slots, and a range spanning two chunks.
  const int chunk = static_cast<int>(fd_table_detail::kChunkSlots);
  FdRecord(chunk - 1, 11, 1);
  FdRecord(chunk, 12, 1);
  FdRecord(chunk + 1, 13, 1);
  FdRecord(5 * chunk + 3, 14, 1);
  EXPECT_EQ(Seen(chunk - 1, 5 * chunk + 3).size(), 4u);
  FdForgetRange(static_cast<unsigned>(chunk - 1), static_cast<unsigned>(chunk));
  std::map<int, Entry> seen = Seen(chunk - 1, 5 * chunk + 3);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[chunk + 1].stack_id, 13u);
  EXPECT_EQ(seen[5 * chunk + 3].stack_id, 14u);
  FdForgetRange(0, 0x7fffffff);  // the close_range(3, ~0U) shape: everything
  EXPECT_TRUE(Seen(0, 0x7fffffff).empty());
}

}  // namespace
}  // namespace leaktrace::preload
