// The mapping table (preload/resources/mapping_table.h): range accounting
// for mmap, munmap and mremap, with each piece keeping its creating call.
#include "preload/resources/mapping_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "preload/record/thread_state.h"

namespace leaktrace::preload {
namespace {

constexpr uintptr_t kPage = 4096;
constexpr uintptr_t kBase = 0x7f1000000000;  // never dereferenced

std::vector<MappingView> Ranges() {
  std::vector<MappingView> out;
  ForEachMapping([](const MappingView& v, void* ctx) { static_cast<std::vector<MappingView>*>(ctx)->push_back(v); },
                 &out);
  return out;
}

// Each test leaves the table empty, as it found it.
class MappingTable : public ::testing::Test {
 protected:
  void TearDown() override {
    MappingRemove(0, UINTPTR_MAX - kPage);
    EXPECT_EQ(MappingCount(), 0u);
  }
  BusyScope busy_;
  MappingTableLock lock_;
};

TEST_F(MappingTable, AHoleInTheMiddleLeavesTwoPiecesOfOneMapping) {
  ASSERT_TRUE(MappingInsert(kBase, kBase + 10 * kPage, 7, 2));
  MappingRemove(kBase + 4 * kPage, kBase + 6 * kPage);
  const std::vector<MappingView> r = Ranges();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].start, kBase);
  EXPECT_EQ(r[0].end, kBase + 4 * kPage);
  EXPECT_EQ(r[1].start, kBase + 6 * kPage);
  EXPECT_EQ(r[1].end, kBase + 10 * kPage);
  for (const MappingView& v : r) {
    EXPECT_EQ(v.stack_id, 7u);
    EXPECT_EQ(v.label_id, 2u);
  }
  EXPECT_EQ(r[0].origin, r[1].origin) << "pieces of one mmap call count as one mapping";
  EXPECT_EQ(r[0].birth_ns, r[1].birth_ns);
  MappingView v;
  EXPECT_FALSE(MappingFind(kBase + 5 * kPage, &v));
  ASSERT_TRUE(MappingFind(kBase + 9 * kPage, &v));
  EXPECT_EQ(v.stack_id, 7u);
}

TEST_F(MappingTable, AFixedMappingReplacesWhatItCovers) {
  ASSERT_TRUE(MappingInsert(kBase, kBase + 4 * kPage, 1, 1));
  ASSERT_TRUE(MappingInsert(kBase + 2 * kPage, kBase + 6 * kPage, 2, 1));
  const std::vector<MappingView> r = Ranges();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].stack_id, 1u);
  EXPECT_EQ(r[0].end, kBase + 2 * kPage);
  EXPECT_EQ(r[1].stack_id, 2u);
  EXPECT_EQ(r[1].start, kBase + 2 * kPage);
  EXPECT_NE(r[0].origin, r[1].origin);
}

TEST_F(MappingTable, MremapMovesAndResizesKeepingTheCreator) {
  ASSERT_TRUE(MappingInsert(kBase, kBase + 2 * kPage, 9, 3));
  MappingView before;
  ASSERT_TRUE(MappingFind(kBase, &before));
  const uintptr_t fresh = kBase + 100 * kPage;
  MappingMove(kBase, 2 * kPage, fresh, 8 * kPage, false);
  MappingView after;
  EXPECT_FALSE(MappingFind(kBase, &after)) << "the old range is gone";
  ASSERT_TRUE(MappingFind(fresh + 7 * kPage, &after));
  EXPECT_EQ(after.start, fresh);
  EXPECT_EQ(after.end, fresh + 8 * kPage);
  EXPECT_EQ(after.stack_id, 9u);
  EXPECT_EQ(after.label_id, 3u);
  EXPECT_EQ(after.origin, before.origin);
  EXPECT_EQ(after.birth_ns, before.birth_ns);
  // MREMAP_DONTUNMAP: the old range stays as it was.
  const uintptr_t third = kBase + 200 * kPage;
  MappingMove(fresh, 8 * kPage, third, 8 * kPage, true);
  EXPECT_TRUE(MappingFind(fresh, &after));
  EXPECT_TRUE(MappingFind(third, &after));
  EXPECT_EQ(MappingCount(), 2u);
}

}  // namespace
}  // namespace leaktrace::preload
