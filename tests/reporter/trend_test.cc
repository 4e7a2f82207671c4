// The trend verdicts (reporter/trend.h) on hand-made series, and a series of
// in-memory dumps end to end through ComputeTrend and LeakGrowth.
#include <gtest/gtest.h>

#include "reporter/check.h"
#include "reporter/render_trend.h"
#include "reporter/trend.h"
#include "tests/reporter/fake_symbols.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::reporter {
namespace {

using format::Resource;
using test_support::DumpBuilder;
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

// Without allocation figures (RSS, the live heap in the memory lines), a
// series whose recent half only lies within its noise has not been seen to
// stop: a sampled heap rising 1 MiB every interval read "warm-up" beside
// its one site's "leak". Warm-up needs the recent slope clearly below the
// overall one.
TEST(TrendJudge, WithoutAllocationsNoStopIsSeenInNoise) {
  const std::vector<double> t = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> steady = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> noise(9, 1.2 * 1.2);
  EXPECT_EQ(Judge(t, steady, noise, {}), Verdict::kNotSignificant);
  const std::vector<double> stopped = {0, 10, 20, 20, 20, 20, 20, 20, 20};
  EXPECT_EQ(Judge(t, stopped, noise, {}), Verdict::kWarmUp);
  EXPECT_EQ(Judge(kSeconds, {0, 100, 100, 100, 100}, kExact, {}), Verdict::kWarmUp);
}

TEST(TrendJudge, PlateauWithTurnoverIsBounded) {
  EXPECT_EQ(J({0, 50, 100, 100, 100}, {0, 50, 100, 150, 200}), Verdict::kBounded);
  EXPECT_EQ(J({0, 80, 40, 90, 50}, {0, 80, 120, 170, 210}), Verdict::kBounded);  // oscillates
  EXPECT_EQ(J({0, 80, 100, 90, 100}), Verdict::kBounded);  // recent part not flat
}

// A steady leak whose recent half sampling cannot resolve (issue 14, the
// user trial: 1.5 -> 10 MiB at 512 KiB sampling) is not significant, never
// "bounded"; a plateau that sampling can resolve is still bounded.
TEST(TrendJudge, UnresolvedRecentGrowthIsNotSignificantNeverBounded) {
  const double T = 512 * 1024, MiB = 1024 * 1024;
  const std::vector<double> t = {0, 1, 2, 3, 4, 5, 6, 7};
  const std::vector<double> y = {1.5 * MiB, 3.5 * MiB, 3.5 * MiB, 4 * MiB, 5.5 * MiB, 8 * MiB, 10 * MiB, 10 * MiB};
  std::vector<double> v, a;
  for (double b : y) v.push_back(b * T);
  for (size_t i = 0; i < y.size(); ++i) a.push_back(y[i] + static_cast<double>(i) * MiB);  // allocations go on
  EXPECT_EQ(Judge(t, y, v, a), Verdict::kNotSignificant);
  // Filled, then level for long, far beyond the noise: bounded.
  const std::vector<double> plateau = {0, 40 * MiB, 80 * MiB, 80 * MiB, 80 * MiB, 80 * MiB, 80 * MiB, 80 * MiB};
  std::vector<double> pv, pa;
  for (size_t i = 0; i < plateau.size(); ++i) {
    pv.push_back(plateau[i] * T);
    pa.push_back(plateau[i] + static_cast<double>(i) * 10 * MiB);
  }
  EXPECT_EQ(Judge(t, plateau, pv, pa), Verdict::kBounded);
}

TEST(TrendJudge, ShrinkingAndFlat) {
  EXPECT_EQ(J({100, 80, 60, 40, 20}), Verdict::kShrinking);
  EXPECT_EQ(J({5, 5, 5, 5, 5}), Verdict::kFlat);
}

TEST(TrendJudge, GrowthWithinSamplingNoiseIsNotSignificantNeverFlat) {
  const std::vector<double> var(5, 100.0 * 100.0);  // one standard error: 100 bytes
  EXPECT_EQ(J({0, 10, 20, 30, 40}, {}, var), Verdict::kNotSignificant);
  EXPECT_EQ(J({1000, 1100, 950, 1050, 1000}, {}, var), Verdict::kNotSignificant);
  EXPECT_STREQ(VerdictName(Verdict::kNotSignificant), "not significant");
  // Sampled and unchanged to the bit: the sampling saw no growth, which is
  // not the same as none (issue 14: never "flat" for sampled figures).
  EXPECT_EQ(J({1000, 1000, 1000, 1000, 1000}, {}, var), Verdict::kNotSignificant);
  // Nothing sampled live at all, or exact: flat.
  EXPECT_EQ(J({0, 0, 0, 0, 0}), Verdict::kFlat);
  // Far beyond the noise it is a leak again.
  EXPECT_EQ(J({0, 1000, 2000, 3000, 4000}, {}, var), Verdict::kLeak);
}

// issue 14: a 3 MiB leak at 512 KiB sampling, snapshots a second apart, read
// 0.5, 2.0, 4.0, 4.0 MiB. Not a leak the rule can see, but never "flat".
TEST(TrendJudge, TheIssuesSubThresholdLeakIsNotSignificantAndBelowTheLimit) {
  const double T = 512 * 1024, MiB = 1024 * 1024;
  const std::vector<double> t = {0, 1, 2, 3};
  const std::vector<double> y = {0.5 * MiB, 2 * MiB, 4 * MiB, 4 * MiB};
  std::vector<double> v;
  for (double b : y) v.push_back(b * T);  // Horvitz-Thompson variance of small blocks
  EXPECT_EQ(Judge(t, y, v, y), Verdict::kNotSignificant);
  const double limit = TrendDetectionLimit(t, T);
  // Evenly spaced 4 snapshots: the recent fit needs 27 T of growth.
  EXPECT_NEAR(limit, 27 * T, 1);
  EXPECT_GT(limit, y.back() - y.front());
  EXPECT_EQ(TrendDetectionLimit(t, 0), 0);
  // A steady leak at the limit is judged a leak; well below it is not.
  auto steady = [&](double growth) {
    std::vector<double> ys, vs;
    for (double ti : t) {
      ys.push_back(growth * ti / 3);
      vs.push_back(ys.back() * T);
    }
    return Judge(t, ys, vs, ys);
  };
  EXPECT_EQ(steady(limit * 1.01), Verdict::kLeak);
  EXPECT_NE(steady(limit * 0.9), Verdict::kLeak);
}

// A steady leak of 2 MiB/s at 512 KiB sampling over nine snapshots a second
// apart (a user's soak gate): the estimates rise together, since the same
// samples stay live, but the slopes' errors, taking each estimate as
// independent (v_i = T y_i), called it not significant, where a two-dump
// check of the same first and last dumps failed. Judged by what the last
// estimate does not share with the first point's and the recent part's
// first, it is a leak; with nothing shared (every sample replaced: a cache
// turning over) the same figures are not.
TEST(TrendJudge, ASteadyLeakIsJudgedByWhatItsEstimatesDoNotShare) {
  const double T = 512 * 1024, MiB = 1024 * 1024;
  const std::vector<double> t = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> y = {1.5 * MiB, 2.5 * MiB, 5 * MiB,    7 * MiB,   11 * MiB,
                                 13.5 * MiB, 14.5 * MiB, 15.5 * MiB, 16 * MiB};  // the user's series
  std::vector<double> v;
  for (double b : y) v.push_back(b * T);
  const size_t h = (y.size() - 1) / 2;
  EXPECT_EQ(Judge(t, y, v, y), Verdict::kNotSignificant);
  double slope = 0, se = 0, recent = 0, recent_se = 0;
  EXPECT_EQ(Judge(t, y, v, y, &slope, &se, &recent, &recent_se, /*shared_first=*/v[0], /*shared_recent=*/v[h]),
            Verdict::kLeak);
  EXPECT_EQ(Judge(t, y, v, y, nullptr, nullptr, nullptr, nullptr, 0, 0), Verdict::kNotSignificant);
  // The limit with births known: R > 9 T since the recent part's first
  // point, 9 T * 8 s / 4 s of growth over the series, below the old one.
  const double limit = TrendDetectionLimit(t, T, /*births_known=*/true);
  EXPECT_NEAR(limit, 18 * T, 1);
  EXPECT_LT(limit, TrendDetectionLimit(t, T));
  auto steady = [&](double growth) {
    std::vector<double> ys, vs;
    for (double ti : t) {
      ys.push_back(growth * ti / 8);
      vs.push_back(ys.back() * T);
    }
    return Judge(t, ys, vs, ys, nullptr, nullptr, nullptr, nullptr, vs[0], vs[h]);
  };
  EXPECT_EQ(steady(limit * 1.01), Verdict::kLeak);
  EXPECT_NE(steady(limit * 0.9), Verdict::kLeak);
  // Growth that stopped stays warm-up, shared or not.
  const std::vector<double> stopped = {0, 4 * MiB, 8 * MiB, 12 * MiB, 12 * MiB, 12 * MiB, 12 * MiB, 12 * MiB, 12 * MiB};
  std::vector<double> sv, sa;
  for (size_t i = 0; i < stopped.size(); ++i) {
    sv.push_back(stopped[i] * T);
    sa.push_back(stopped[i]);
  }
  EXPECT_NE(Judge(t, stopped, sv, sa, nullptr, nullptr, nullptr, nullptr, sv[0], sv[h]), Verdict::kLeak);
}

// `run --interval 1` of a 4 s program: snapshots at 1, 2, 3 and 4 s and the
// exit snapshot 40 ms after the last. A 20 MiB/s leak at 512 KiB sampling
// must be a leak with or without that exit snapshot, and the near-duplicate
// must not inflate the detection limit (it read 1 GiB for 0, 1.00, 1.02 s).
TEST(TrendJudge, AnExitSnapshotRightAfterTheLastIntervalChangesNothing) {
  const double T = 512 * 1024, MiB = 1024 * 1024;
  auto leak = [&](const std::vector<double>& t) {
    std::vector<double> ys, vs;
    for (double ti : t) {
      ys.push_back(20 * MiB * ti);
      vs.push_back(ys.back() * T);
    }
    double slope = 0, se = 0, recent = 0, recent_se = 0;
    const Verdict v = Judge(t, ys, vs, ys, &slope, &se, &recent, &recent_se);
    EXPECT_GT(recent / recent_se, 4) << "recent slope " << recent << " +- " << recent_se;
    return v;
  };
  EXPECT_EQ(leak({1, 2, 3, 4}), Verdict::kLeak);
  EXPECT_EQ(leak({1, 2, 3, 4, 4.04}), Verdict::kLeak);
  EXPECT_EQ(leak({1, 2, 3, 3.98, 4, 4.04}), Verdict::kLeak);
  EXPECT_DOUBLE_EQ(TrendDetectionLimit({1, 2, 3, 4, 4.04}, T), TrendDetectionLimit({1, 2, 3, 4.04}, T));
  EXPECT_DOUBLE_EQ(TrendDetectionLimit({0, 0.9999, 1.0163}, T), TrendDetectionLimit({0, 1.0163}, T));
  // Only near-duplicates go: a snapshot 0.3 s from its neighbour in a series
  // spaced 0.7-1 s counts.
  EXPECT_NE(TrendDetectionLimit({0, 1, 1.3, 2}, T), TrendDetectionLimit({0, 1, 2}, T));
  EXPECT_NE(TrendDetectionLimit({0, 1, 1.3, 2}, T), TrendDetectionLimit({0, 1.3, 2}, T));
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
  EXPECT_NE(text.find("1 leak, 1 warm-up, 1 bounded, 0 shrinking, 0 not significant, 0 flat"), std::string::npos) << text;
  EXPECT_NE(text.find("leak: +1.7 B/s"), std::string::npos) << text;
  const auto json = TrendToJson(trend, RenderOptions{});
  EXPECT_EQ(json["kind"], "trend");
  EXPECT_EQ(json["sites"][0]["verdict"], "leak");
  EXPECT_EQ(json["sites"][0]["series"].size(), 5u);
  EXPECT_EQ(json["sites"][0]["bytes"], 400);
}

// A sampled series: the text names the detection limit and the way out, a
// site that moved within noise is "not significant" (shown), one whose
// estimate never moved is "not significant" too (counted, not listed), JSON
// carries detection_limit_bytes.
TEST(TrendSeries, SampledSeriesStatesItsDetectionLimit) {
  FakeSymbols symbols;
  symbols.Add("server", 0x10, {Fn("small_leak", "s.c", 1)});
  symbols.Add("server", 0x20, {Fn("steady", "s.c", 2)});
  std::vector<Report> live;
  const double MiB = 1024 * 1024, T = 512 * 1024;
  const double series[] = {0.5 * MiB, 2 * MiB, 4 * MiB, 4 * MiB};
  for (uint32_t seq : {1u, 2u, 3u, 4u}) {
    format::Dump d = DumpBuilder("server", 7, seq)
                         .Exact(false)
                         .Module("/usr/bin/server", 0x1000000)
                         .Stack(1, {0x1000010})
                         .Stack(2, {0x1000020})
                         .Site(Resource::kHeap, 1, series[seq - 1], 10, series[seq - 1] * T)
                         .Site(Resource::kHeap, 2, MiB, 2, MiB * T)
                         .Build();
    live.push_back(FromDump(d, symbols.Source()));
  }
  const Trend trend = ComputeTrend(live, {});
  EXPECT_GT(trend.detection_limit_bytes, 3 * MiB);
  const std::string text = RenderTrendText(trend, RenderOptions{});
  // The steady site's estimate never moved: not significant too (sampled
  // figures are never "flat"), counted, but not listed in text.
  EXPECT_NE(text.find("0 leak, 0 warm-up, 0 bounded, 0 shrinking, 2 not significant, 0 flat"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("s.c:2"), std::string::npos) << text;
  EXPECT_NE(text.find("\n1 sampled site whose estimate never moved not shown (not significant: any growth there is "
                      "below the detection limit)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("detection limit 13.5 MiB: a steady leak growing less over these 4 snapshots (76.8 KiB/s over "
                      "3.0 min) is not significant at 512.0 KiB sampling (3 standard errors); for smaller leaks use "
                      "LEAKTRACE_SAMPLE=64k (leaktrace run --sample 64k), or --sample 1 (exact)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    not significant: "), std::string::npos) << text;
  EXPECT_NE(text.find("small_leak"), std::string::npos) << text;
  EXPECT_EQ(text.find("no call site changed"), std::string::npos) << text;
  const auto json = TrendToJson(trend, RenderOptions{});
  EXPECT_DOUBLE_EQ(json["detection_limit_bytes"].get<double>(), trend.detection_limit_bytes);
  EXPECT_EQ(json["verdicts"]["not significant"], 2);
  EXPECT_EQ(json["verdicts"]["flat"], 0);
}

// A sampled series whose heap took no sample at all (0 B in every dump: a
// quiet server at 512 KiB sampling) is "not significant", never "flat"; an
// exact figure beside it (a descriptor site) may be flat.
TEST(TrendSeries, ASampledHeapWithNoSampleIsNotSignificantNeverFlat) {
  FakeSymbols symbols;
  symbols.Add("server", 0x10, {Fn("open_once", "s.c", 1)});
  std::vector<Report> live;
  for (uint32_t seq : {1u, 2u, 3u, 4u}) {
    format::Dump d = DumpBuilder("server", 7, seq)
                         .Exact(false)
                         .SampleInterval(512 * 1024)
                         .Module("/usr/bin/server", 0x1000000)
                         .Stack(1, {0x1000010})
                         .Site(Resource::kFd, 1, 0, 1)
                         .Memory()
                         .Memory("rss", 8 << 20)
                         .Build();
    live.push_back(FromDump(d, symbols.Source()));
  }
  const Trend trend = ComputeTrend(live, {});
  ASSERT_FALSE(trend.exact);
  ASSERT_EQ(trend.memory.size(), 4u);
  for (const MemorySeries& m : trend.memory) {
    if (m.name == "heap") {
      EXPECT_EQ(m.verdict, Verdict::kNotSignificant);
    }
  }
  ASSERT_EQ(trend.sites.size(), 1u);
  EXPECT_EQ(trend.sites[0].verdict, Verdict::kFlat);  // descriptors are counted exactly
  const std::string text = RenderTrendText(trend, RenderOptions{});
  const size_t heap = text.find("  live heap ");
  ASSERT_NE(heap, std::string::npos) << text;
  const std::string line = text.substr(heap, text.find('\n', heap) - heap);
  EXPECT_NE(line.find("not significant"), std::string::npos) << line;
  EXPECT_EQ(line.find("flat"), std::string::npos) << line;
}

// "oldest" is the age at the later snapshot, in a trend as in a diff.
TEST(TrendSeries, OldestIsTheAgeAtTheLastSnapshot) {
  std::vector<Report> live;
  for (int k = 0; k < 3; ++k) {
    Report r;
    DumpInfo d;
    d.pid = 1;
    d.seq = k + 1;
    d.snapshot_monotonic_ns = int64_t{k} * 1000000000;
    d.exact = true;
    r.dumps.push_back(d);
    Site s;
    s.frames.push_back(Fn("f", "f.c", 1));
    s.key = SiteKey(s.resource, s.label, s.frames);
    s.bytes = 100 * (k + 1);
    s.count = k + 1;
    s.oldest_age_s = 10 + k;
    r.sites.push_back(s);
    live.push_back(r);
  }
  const Trend trend = ComputeTrend(live, {});
  ASSERT_EQ(trend.sites.size(), 1u);
  EXPECT_DOUBLE_EQ(trend.sites[0].site.oldest_age_s, 12);
}

}  // namespace
}  // namespace leaktrace::reporter
