#include "preload/resources/label_table.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace leaktrace::preload {
namespace {

long MinorFaultsOfThisThread() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

TEST(LabelTable, AProcesssFirstLabelsTouchAFewPages) {
  // A process's first labels (a fork child's first opens: a postgres
  // backend opens a few dozen relation files) touch a few pages of the
  // table: its index and its entries' first page. Labels landing on pages
  // at random by hash cost two faults each (Find's read maps the zero
  // page, the insert's write faults again): 67 for these 40, against 21
  // now. Each test
  // runs in a process of its own (ctest), so the table is fresh here
  // unless the whole binary runs.
  if (LabelCount() != 0) GTEST_SKIP() << "the table was used by an earlier test in this process";
  constexpr int kLabels = 40;
  char texts[kLabels][64];
  for (int i = 0; i < kLabels; ++i) snprintf(texts[i], sizeof texts[i], "file:/var/lib/data/base/5/%d", 16384 + i * 7);
  uint32_t ids[kLabels];
  const long before = MinorFaultsOfThisThread();
  for (int i = 0; i < kLabels; ++i) ids[i] = InternLabel(texts[i]);
  const long faults = MinorFaultsOfThisThread() - before;
  // The index's 8 pages (two faults each at most), the entries' first page,
  // the copies' arena, the first run of the code's pages.
  EXPECT_LE(faults, 30) << "page faults for " << kLabels << " new labels";
  for (int i = 0; i < kLabels; ++i) {
    ASSERT_NE(ids[i], 0u) << texts[i];
    EXPECT_STREQ(LabelText(ids[i]), texts[i]);
    EXPECT_EQ(InternLabel(texts[i]), ids[i]) << "the same text is the same label";
    for (int j = 0; j < i; ++j) EXPECT_NE(ids[i], ids[j]);
  }
  EXPECT_EQ(LabelCount(), static_cast<uint64_t>(kLabels));
  EXPECT_STREQ(LabelText(0), "");
  EXPECT_STREQ(LabelText(kLabels + 1), "") << "an id not handed out names nothing";
}

TEST(LabelTable, AFullTableStillNamesTheKinds) {
  // A program that opens many thousands of distinct paths fills the table;
  // a path then falls back to its bare kind ("file"), which must still be
  // there to be had although nothing interned it before. (It was not: such
  // descriptors went without any label.)
  char text[64];
  uint32_t paths = 0;
  for (int i = 0; i < 20000; ++i) {
    snprintf(text, sizeof text, "file:/tmp/many/f%d", i);
    if (InternLabel(text) == 0) break;
    ++paths;
  }
  EXPECT_GT(paths, 7000u);
  EXPECT_LT(paths, 20000u) << "the table is bounded";
  snprintf(text, sizeof text, "file:/tmp/many/g%d", 1);
  EXPECT_EQ(InternLabel(text), 0u) << "full for paths";
  for (const char* kind : {"file", "dir", "device", "fifo", "pipe", "socket inet/stream", "unknown"}) {
    const uint32_t id = InternKindLabel(kind);
    ASSERT_NE(id, 0u) << kind;
    EXPECT_STREQ(LabelText(id), kind);
    EXPECT_EQ(InternKindLabel(kind), id);
    EXPECT_EQ(InternLabel(kind), id) << "a kind interned is found by InternLabel too";
  }
  snprintf(text, sizeof text, "file:/tmp/many/f%d", 0);
  EXPECT_NE(InternLabel(text), 0u) << "labels interned before stay";
}

TEST(LabelTable, ALongTextIsCutAndStillFoundAgain) {
  std::string text(5000, 'x');
  text += "tail";
  const uint32_t id = InternLabel(text.c_str());
  ASSERT_NE(id, 0u);
  EXPECT_EQ(std::strlen(LabelText(id)), 4096u + 64u);
  EXPECT_EQ(InternLabel(text.c_str()), id);
}

}  // namespace
}  // namespace leaktrace::preload
