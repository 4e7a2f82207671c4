// --older-than on dumps built in memory: which objects count, with what
// weights and variances; exact dumps become estimates; 0 keeps everything;
// a dump without ages is refused; durations parse strictly.
#include <gtest/gtest.h>

#include <string>

#include "format/dump_reader.h"
#include "reporter/age_filter.h"
#include "reporter/report_from_dump.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::reporter {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// Snapshot at t = 100 s. Site 0: sampled heap, site 1: fd, site 2: mmap,
// site 3: heap with nothing old.
format::Dump AgedDump(bool exact) {
  using format::Resource;
  test_support::DumpBuilder b;
  b.Path("aged.dump").Exact(exact).SnapshotTime(0, 100 * kSecond);
  if (!exact) b.SampleInterval(65536);
  return b.Stack(1, {0x10})
      .Stack(2, {0x20})
      .Stack(3, {0x30})
      .Stack(4, {0x40})
      .Site(Resource::kHeap, 1, 30 * 1024, 30)
      .Site(Resource::kFd, 2, 0, 3)
      .Site(Resource::kMmap, 3, 3 * 4096, 2)
      .Site(Resource::kHeap, 4, 100, 10)
      .Health("age_sample_interval", 16384)
      .Age(0, 10 * kSecond, 10, 1024)  // 90 s old
      .Age(0, 50 * kSecond, 4, 1024)   // 50 s old
      .Age(0, 99 * kSecond, 16, 1024)  // 1 s old
      .Age(1, 20 * kSecond, 1, 0)      // 80 s
      .Age(1, 30 * kSecond, 1, 0)      // 70 s
      .Age(1, 95 * kSecond, 1, 0)      // 5 s
      .Age(2, 1 * kSecond, 1, 8192)    // 99 s
      .Age(2, 98 * kSecond, 1, 4096)   // 2 s
      .Age(3, 99 * kSecond, 2, 50)     // 1 s
      .Build();
}

// Young objects (a short-lived program's) read in ms or us, never in
// scientific notation ("8.67e-05 s").
TEST(AgeFilter, DurationsReadAsPeopleWriteThem) {
  EXPECT_EQ(FormatDuration(0), "0 us");
  EXPECT_EQ(FormatDuration(8.67e-05), "87 us");
  EXPECT_EQ(FormatDuration(0.000115), "115 us");
  EXPECT_EQ(FormatDuration(0.0123), "12.3 ms");
  EXPECT_EQ(FormatDuration(0.5), "500 ms");
  EXPECT_EQ(FormatDuration(17), "17 s");
  EXPECT_EQ(FormatDuration(90), "1.5 min");
  EXPECT_EQ(FormatDuration(7200), "2.0 h");
}

TEST(AgeFilter, KeepsOnlyObjectsOldEnoughWithTheirWeights) {
  const format::Dump out = KeepOlderThan(AgedDump(false), 60);
  ASSERT_EQ(out.sites.size(), 3u);  // the heap site with nothing old is gone
  const format::Site& heap = out.sites[0];
  EXPECT_EQ(heap.stack_id, 1u);
  EXPECT_DOUBLE_EQ(heap.live_count, 10);
  EXPECT_DOUBLE_EQ(heap.live_bytes, 10 * 1024);
  EXPECT_DOUBLE_EQ(heap.var_live_count, 10 * 9);
  EXPECT_DOUBLE_EQ(heap.var_live_bytes, 10 * 9 * 1024.0 * 1024.0);
  EXPECT_EQ(heap.live_samples, 1u);
  const format::Site& fd = out.sites[1];
  EXPECT_EQ(fd.resource, format::Resource::kFd);
  EXPECT_DOUBLE_EQ(fd.live_count, 2);
  EXPECT_DOUBLE_EQ(fd.var_live_count, 0);
  const format::Site& mmap = out.sites[2];
  EXPECT_DOUBLE_EQ(mmap.live_count, 1);
  EXPECT_DOUBLE_EQ(mmap.live_bytes, 8192);
  // The kept records point at the kept sites.
  ASSERT_EQ(out.ages.size(), 4u);
  for (const format::Age& a : out.ages) EXPECT_LT(a.site, out.sites.size());
  EXPECT_FALSE(out.process.exact());
  EXPECT_EQ(out.process.sample_interval, 65536u);
}

TEST(AgeFilter, TheBoundaryIsInclusive) {
  const format::Dump out = KeepOlderThan(AgedDump(false), 50);
  EXPECT_DOUBLE_EQ(out.sites[0].live_count, 14);  // 90 s and exactly 50 s
}

TEST(AgeFilter, ZeroKeepsTheDumpAsItIs) {
  const format::Dump in = AgedDump(true);
  const format::Dump out = KeepOlderThan(in, 0);
  ASSERT_EQ(out.sites.size(), in.sites.size());
  EXPECT_DOUBLE_EQ(out.sites[0].live_count, 30);
  EXPECT_DOUBLE_EQ(out.sites[3].live_count, 10);
  EXPECT_TRUE(out.process.exact());
}

TEST(AgeFilter, ExactDumpsBecomeEstimatesAtTheAgeSampleInterval) {
  const format::Dump out = KeepOlderThan(AgedDump(true), 60);
  EXPECT_FALSE(out.process.exact());
  EXPECT_EQ(out.process.sample_interval, 16384u);
  EXPECT_GT(out.sites[0].var_live_count, 0);
  EXPECT_DOUBLE_EQ(out.sites[1].live_count, 2);  // descriptors stay exact
}

TEST(AgeFilter, ADumpWithoutAgesIsRefusedNamingTheFile) {
  format::Dump d = AgedDump(false);
  d.has_ages = false;
  d.ages.clear();
  try {
    KeepOlderThan(d, 0);
    FAIL() << "accepted";
  } catch (const format::DumpError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("aged.dump: no ages section", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
}

TEST(AgeFilter, OldestAgePerSiteReachesTheReport) {
  const std::vector<double> oldest = OldestAges(AgedDump(false));
  ASSERT_EQ(oldest.size(), 4u);
  EXPECT_DOUBLE_EQ(oldest[0], 90);
  EXPECT_DOUBLE_EQ(oldest[1], 80);
  EXPECT_DOUBLE_EQ(oldest[2], 99);
  EXPECT_DOUBLE_EQ(oldest[3], 1);

  FrameSource source = [](const format::Dump&, uint64_t pc) {
    Frame f;
    f.function = "f" + std::to_string(pc);
    return std::vector<Frame>{f};
  };
  const Report r = FromDump(KeepOlderThan(AgedDump(false), 60), source);
  ASSERT_EQ(r.sites.size(), 3u);
  for (const Site& s : r.sites) {
    if (s.resource == format::Resource::kFd) {
      EXPECT_DOUBLE_EQ(s.oldest_age_s, 80);
    } else if (s.resource == format::Resource::kMmap) {
      EXPECT_DOUBLE_EQ(s.oldest_age_s, 99);
    } else {
      EXPECT_EQ(s.resource, format::Resource::kHeap);
      EXPECT_DOUBLE_EQ(s.oldest_age_s, 90);
    }
  }
}

TEST(AgeFilter, DurationsParseStrictly) {
  EXPECT_EQ(ParseDuration("90"), 90);
  EXPECT_EQ(ParseDuration("90s"), 90);
  EXPECT_EQ(ParseDuration("1.5m"), 90);
  EXPECT_EQ(ParseDuration("10m"), 600);
  EXPECT_EQ(ParseDuration("2h"), 7200);
  EXPECT_EQ(ParseDuration("1d"), 86400);
  EXPECT_EQ(ParseDuration("0"), 0);
  for (const char* bad : {"", "-1", "+5", " 5", "5 s", "5x", "m", "1e3", "inf", "nan", "0x10", "5ms", "5S"})
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
}

}  // namespace
}  // namespace leaktrace::reporter
