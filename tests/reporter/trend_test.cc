// The trend verdicts (reporter/trend.h) on hand-made series, and a series of
// in-memory dumps end to end through ComputeTrend and LeakGrowth.
#include <gtest/gtest.h>

#include "reporter/check.h"
#include "reporter/render_trend.h"
#include "reporter/trend.h"
#include "tests/reporter/fake_symbols.h"

namespace leaktrace::reporter {
namespace {

using format::Resource;
using testing::DumpBuilder;
using testing::FakeSymbols;
using testing::Fn;

const std::vector<double> kSeconds = {0, 1, 2, 3, 4};
const std::vector<double> kExact(5, 0);

Verdict J(std::vector<double> y, std::vector<double> alloc = {}, std::vector<double> var = kExact) {
  if (alloc.empty()) alloc = y;  // no turnover: allocations equal what is live
  return Judge(kSeconds, y, var, alloc);
}

TEST(TrendJudge, SteadyGrowthIsALeak) {
  double slope = 0, se = 0, recent = 0;
  EXPECT_EQ(Judge(kSeconds, {0, 10, 20, 30, 40}, kExact, {0, 10, 20, 30, 40}, &slope, &se, &recent), Verdict::kLeak);
  EXPECT_DOUBLE_EQ(slope, 10);
  EXPECT_DOUBLE_EQ(se, 0);
  EXPECT_DOUBLE_EQ(recent, 10);
  EXPECT_EQ(J({0, 0, 10, 10, 20}), Verdict::kLeak);  // in steps, still going on
}

TEST(TrendJudge, GrowthThatStoppedIsWarmUp) {
  EXPECT_EQ(J({0, 100, 100, 100, 100}), Verdict::kWarmUp);
  EXPECT_EQ(J({0, 10, 20, 20, 20}), Verdict::kWarmUp);
}

TEST(TrendJudge, PlateauWithTurnoverIsBounded) {
  EXPECT_EQ(J({0, 50, 100, 100, 100}, {0, 50, 100, 150, 200}), Verdict::kBounded);
  EXPECT_EQ(J({0, 80, 40, 90, 50}, {0, 80, 120, 170, 210}), Verdict::kBounded);  // oscillates
  EXPECT_EQ(J({0, 80, 100, 90, 100}), Verdict::kBounded);  // recent part not flat
}

TEST(TrendJudge, ShrinkingAndFlat) {
  EXPECT_EQ(J({100, 80, 60, 40, 20}), Verdict::kShrinking);
  EXPECT_EQ(J({5, 5, 5, 5, 5}), Verdict::kFlat);
}

TEST(TrendJudge, GrowthWithinSamplingNoiseIsNotALeak) {
  const std::vector<double> var(5, 100.0 * 100.0);  // one standard error: 100 bytes
  EXPECT_EQ(J({0, 10, 20, 30, 40}, {}, var), Verdict::kFlat);
  EXPECT_EQ(J({1000, 1100, 950, 1050, 1000}, {}, var), Verdict::kFlat);
  // Far beyond the noise it is a leak again.
  EXPECT_EQ(J({0, 1000, 2000, 3000, 4000}, {}, var), Verdict::kLeak);
}

TEST(TrendJudge, ThreeSnapshotsAndUnevenTimes) {
  EXPECT_EQ(Judge({0, 1, 2}, {0, 5, 10}, {0, 0, 0}, {0, 5, 10}), Verdict::kLeak);
  EXPECT_EQ(Judge({0, 1, 2}, {0, 5, 5}, {0, 0, 0}, {0, 5, 5}), Verdict::kWarmUp);
  EXPECT_EQ(Judge({0, 10, 11, 30}, {0, 100, 110, 300}, {0, 0, 0, 0}, {0, 100, 110, 300}), Verdict::kLeak);
}

TEST(TrendSeries, ProblemsAreNamed) {
  auto info = [](uint32_t pid, int64_t t) {
    DumpInfo d;
    d.path = "p." + std::to_string(pid) + "." + std::to_string(t) + ".dump";
    d.pid = pid;
    d.snapshot_monotonic_ns = t;
    return d;
  };
  EXPECT_TRUE(SeriesProblem({info(1, 1), info(1, 2)}).has_value());
  EXPECT_TRUE(SeriesProblem({info(1, 1), info(1, 2), info(2, 3)}).has_value());
  EXPECT_TRUE(SeriesProblem({info(1, 1), info(1, 2), info(1, 2)}).has_value());
  EXPECT_FALSE(SeriesProblem({info(1, 3), info(1, 1), info(1, 2)}).has_value());
}

// Three sites over five dumps given out of order: a leak, warm-up, a cache.
TEST(TrendSeries, DumpsEndToEnd) {
  FakeSymbols symbols;
  symbols.Add("server", 0x10, {Fn("leak_every_step", "s.c", 1)});
  symbols.Add("server", 0x20, {Fn("warm_up", "s.c", 2)});
  symbols.Add("server", 0x30, {Fn("cache_insert", "s.c", 3)});
  std::vector<Report> live, allocated;
  for (uint32_t seq : {3u, 1u, 2u, 5u, 4u}) {
    const double k = seq - 1;
    format::Dump d = DumpBuilder("server", 7, seq)
                         .Exact()
                         .Module("/usr/bin/server", 0x1000000)
                         .Stack(1, {0x1000010})
                         .Stack(2, {0x1000020})
                         .Stack(3, {0x1000030})
                         .Site(Resource::kHeap, 1, 100 * k, k)
                         .Site(Resource::kHeap, 2, k > 0 ? 500 : 0, k > 0 ? 1 : 0)
                         .Site(Resource::kHeap, 3, std::min(k, 2.0) * 40, std::min(k, 2.0))
                         .Build();
    for (format::Site& s : d.sites) {
      s.alloc_bytes = s.live_bytes;
      s.alloc_count = s.live_count;
    }
    d.sites[2].alloc_bytes = 40 * k;  // the cache keeps allocating
    live.push_back(FromDump(d, symbols.Source()));
    allocated.push_back(AllocatedReport(d, symbols.Source()));
  }
  const Trend trend = ComputeTrend(live, allocated);
  ASSERT_EQ(trend.dumps.size(), 5u);
  EXPECT_EQ(trend.dumps.front().seq, 1u);
  EXPECT_DOUBLE_EQ(trend.seconds.back(), 240);
  ASSERT_EQ(trend.sites.size(), 3u);
  EXPECT_EQ(trend.sites[0].site.frames.at(0).function, "leak_every_step");
  EXPECT_EQ(trend.sites[0].verdict, Verdict::kLeak);
  EXPECT_DOUBLE_EQ(trend.sites[0].site.bytes, 400);
  EXPECT_EQ(trend.sites[1].verdict, Verdict::kWarmUp);
  EXPECT_EQ(trend.sites[2].verdict, Verdict::kBounded);

  const Report leaks = LeakGrowth(trend);
  ASSERT_EQ(leaks.sites.size(), 1u);
  EXPECT_FALSE(Check(leaks, Thresholds{}, Suppressions{}).passed);
  Thresholds loose;
  loose.max_site_bytes = 1000;
  EXPECT_TRUE(Check(leaks, loose, Suppressions{}).passed);
  EXPECT_TRUE(Check(leaks, Thresholds{}, Suppressions::Parse("leak:leak_every_step\n", "s")).passed);

  const std::string text = RenderTrendText(trend, RenderOptions{});
  EXPECT_NE(text.find("1 leak, 1 warm-up, 1 bounded, 0 shrinking, 0 flat"), std::string::npos) << text;
  EXPECT_NE(text.find("leak: +1.7 B/s"), std::string::npos) << text;
  const auto json = TrendToJson(trend, RenderOptions{});
  EXPECT_EQ(json["kind"], "trend");
  EXPECT_EQ(json["sites"][0]["verdict"], "leak");
  EXPECT_EQ(json["sites"][0]["series"].size(), 5u);
  EXPECT_EQ(json["sites"][0]["bytes"], 400);
}

}  // namespace
}  // namespace leaktrace::reporter
