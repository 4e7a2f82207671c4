// The trend verdicts (reporter/trend.h) on hand-made series, and a series of
// in-memory dumps end to end through ComputeTrend and LeakGrowth.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

#include "reporter/check.h"
#include "reporter/render_trend.h"
#include "reporter/trend.h"
#include "reporter/trend_covariance.h"
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


// ---- slope errors when the same samples stay live across snapshots ----

// One sampled heap site over one-second snapshots, simulated as the library
// samples: a block of `size` bytes is sampled with p = 1 - exp(-size/T) and
// weighs 1/p; a put every 1/`rate` s; each block lives `life` s (`life`
// < 0: never freed). Every sampled live block is in the dump's ages. The
// RNG is seeded: the test is deterministic, its bounds are set so that a
// fresh seed would fail it with probability below 1e-9.
struct SampledSite {
  double rate = 900, size = 512, life = 20000 / 900.0;
  bool ages = true;
};

std::vector<format::Dump> SimulatedDumps(std::mt19937_64& rng, const SampledSite& site, int snapshots) {
  const double T = 512 * 1024;
  const double p = 1 - std::exp(-site.size / T), w = 1 / p;
  const int64_t kSecond = 1000000000, t0 = 1000 * kSecond;
  // Sampled puts, by their birth: the gaps between samples are geometric
  // (drawn from the raw engine, so every standard library draws alike).
  std::vector<int64_t> births;
  const double first = site.life > 0 ? -site.life : 0;
  const double step = 1 / site.rate;
  double at = first;
  while (true) {
    const double u = 1 - static_cast<double>(rng() >> 11) * 0x1.0p-53;  // (0, 1]
    at += step * (1 + std::floor(std::log(u) / std::log1p(-p)));
    if (at > snapshots) break;
    births.push_back(t0 + static_cast<int64_t>(std::llround(at * 1e9)));
  }
  std::vector<format::Dump> dumps;
  for (int i = 0; i < snapshots; ++i) {
    const int64_t now = t0 + i * kSecond;
    DumpBuilder b("svc", 7, static_cast<uint32_t>(i + 1));
    b.Exact(false).SnapshotTime(now, now).Module("/usr/bin/svc", 0x1000000).Stack(1, {0x1000010});
    std::vector<int64_t> live;
    for (int64_t birth : births)
      if (birth <= now && (site.life < 0 || birth > now - static_cast<int64_t>(site.life * 1e9))) live.push_back(birth);
    const double k = static_cast<double>(live.size());
    b.Site(Resource::kHeap, 1, k * w * site.size, k * w, k * w * (w - 1) * site.size * site.size);
    if (site.ages) {
      b.Ages();
      for (int64_t birth : live) b.Age(0, birth, w, static_cast<uint64_t>(site.size));
    }
    dumps.push_back(b.Build());
  }
  return dumps;
}

struct Judged {
  double slope, se, recent, recent_se;
  bool bound;
  Verdict verdict;
};

Judged JudgeSimulated(const std::vector<format::Dump>& dumps) {
  FakeSymbols symbols;
  symbols.Add("svc", 0x10, {Fn("cache_put", "svc.c", 23)});
  std::vector<Report> live;
  std::vector<DumpSamples> samples;
  for (const format::Dump& d : dumps) {
    live.push_back(FromDump(d, symbols.Source()));
    samples.push_back(SamplesOf(d, symbols.Source()));
  }
  const Trend trend = ComputeTrend(live, {}, std::move(samples));
  const TrendSite& s = trend.sites.at(0);
  return {s.slope, s.slope_stderr, s.recent_slope, s.recent_slope_stderr, s.stderr_is_bound, s.verdict};
}

// The soak that found it: a full ring cache (20000 x 512 B, every put
// evicts the oldest, so each sample lives 22 s), 60 one-second snapshots
// at 512 KiB sampling. Its truth is flat: every slope's z-score (slope over
// stated error) should look like a standard normal's. Taking the snapshots
// as independent stated errors about 3x too small: |z| > 3 in about 30% of
// series (recent slope) and 45% (whole series), and the cache called a
// leak in 4 soaks of 24.
//
// Bounds for 500 series, so that another seed would fail the test with
// probability below 1e-9 (Chernoff: P(X >= k) <= (e mu / k)^k e^-mu). Over
// 5000 series of other seeds, |z| > 3 came to 0.3% (a normal's is 0.27%):
// even at 1%, more than 30 of 500 has probability below 1e-12. |z| < 0.5
// came to 38.6% (a normal's 38.3%): more than 65% has probability below
// 1e-14, and errors stated 3x too large would put 87% there. No series
// was called a leak: at a rate of 0.06%, 11 or more below 1e-12.
TEST(TrendCovariance, AFlatCacheWhoseSamplesStayStatesAnErrorThatCoversItsSpread) {
  std::mt19937_64 rng(20250625);
  const int kSeries = 500;
  int over3_recent = 0, over3_whole = 0, under_half_recent = 0, under_half_whole = 0, leaks = 0;
  for (int k = 0; k < kSeries; ++k) {
    const Judged j = JudgeSimulated(SimulatedDumps(rng, SampledSite{}, 60));
    ASSERT_GT(j.se, 0);
    ASSERT_GT(j.recent_se, 0);
    EXPECT_FALSE(j.bound);
    const double z = j.slope / j.se, zr = j.recent / j.recent_se;
    over3_whole += std::fabs(z) > 3;
    over3_recent += std::fabs(zr) > 3;
    under_half_whole += std::fabs(z) < 0.5;
    under_half_recent += std::fabs(zr) < 0.5;
    leaks += j.verdict == Verdict::kLeak;
  }
  EXPECT_LE(over3_recent, 30) << "of " << kSeries << " flat series, the recent slope was beyond 3 stated errors";
  EXPECT_LE(over3_whole, 30) << "of " << kSeries << " flat series, the slope was beyond 3 stated errors";
  EXPECT_LE(under_half_recent, kSeries * 65 / 100) << "the stated recent errors are far too large";
  EXPECT_LE(under_half_whole, kSeries * 65 / 100) << "the stated errors are far too large";
  EXPECT_LE(leaks, 10) << "a flat cache called a leak";
}

// Without births (dumps of a library that records no ages) nothing says
// what the snapshots share: the error is the largest the unknown births
// allow, never below the one the births give, and marked as a bound.
TEST(TrendCovariance, WithoutBirthsTheErrorIsAnUpperBoundAndSaysSo) {
  std::mt19937_64 rng(7);
  for (int k = 0; k < 50; ++k) {
    const uint64_t seed = rng();
    std::mt19937_64 a(seed), b(seed);
    SampledSite without;
    without.ages = false;
    const Judged known = JudgeSimulated(SimulatedDumps(a, SampledSite{}, 30));
    const Judged bound = JudgeSimulated(SimulatedDumps(b, without, 30));
    ASSERT_DOUBLE_EQ(known.slope, bound.slope);
    EXPECT_FALSE(known.bound);
    EXPECT_TRUE(bound.bound);
    EXPECT_GE(bound.se, known.se * (1 - 1e-12));
    EXPECT_GE(bound.recent_se, known.recent_se * (1 - 1e-12));
  }
}

// Text and JSON say so.
TEST(TrendCovariance, ABoundIsMarkedInTextAndJson) {
  std::mt19937_64 rng(11);
  SampledSite without;
  without.ages = false;
  FakeSymbols symbols;
  symbols.Add("svc", 0x10, {Fn("cache_put", "svc.c", 23)});
  std::vector<Report> live;
  for (const format::Dump& d : SimulatedDumps(rng, without, 10)) live.push_back(FromDump(d, symbols.Source()));
  const Trend trend = ComputeTrend(live, {});
  ASSERT_TRUE(trend.sites.at(0).stderr_is_bound);
  EXPECT_EQ(trend.births_unknown, 10u);
  const std::string text = RenderTrendText(trend, RenderOptions{});
  EXPECT_NE(text.find("10 of these snapshots do not say when their samples were born (no ages section: an older "
                      "libleaktrace): slope errors that depend on them are upper bounds (\"± at most\")"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" ± at most "), std::string::npos) << text;
  EXPECT_EQ(TrendToJson(trend, RenderOptions{})["sites"][0]["slope_stderr_is_bound"], true);
}

// A steady leak keeps every sample: its estimates are a running sum, and
// a slope's error taken as if they were independent was about 3x too small
// for it too (28 KiB/s stated where runs spread by about 100). With the
// shared samples in, z = (slope - rate) / se is a standard normal's again,
// and a 900 KiB/s leak is a leak in every series (its recent slope is
// 7 errors above 0). Bounds as above, for 300 series: |z| > 3 came to 0.5%
// over 2400 series of other seeds, more than 24 has probability below
// 1e-9 even at 1%; |z| < 0.5 came to 38.7%, more than 70% below 1e-11.
TEST(TrendCovariance, ASteadyLeakStatesAnErrorThatCoversItsSpread) {
  std::mt19937_64 rng(99);
  SampledSite leak;
  leak.size = 1024;
  leak.life = -1;
  const double rate = leak.rate * leak.size;
  int over3 = 0, under_half = 0;
  for (int k = 0; k < 300; ++k) {
    const Judged j = JudgeSimulated(SimulatedDumps(rng, leak, 60));
    EXPECT_EQ(j.verdict, Verdict::kLeak);
    const double z = (j.slope - rate) / j.se;
    over3 += std::fabs(z) > 3;
    under_half += std::fabs(z) < 0.5;
  }
  EXPECT_LE(over3, 24);
  EXPECT_LE(under_half, 300 * 70 / 100);
}

// The prefix sums compute the quadratic form: Var(Σ u_k y_k) = Σ_kl u_k u_l C_kl
// with C_kl the variance of the blocks live at both snapshots, for blocks
// of any lifetimes and any weights u.
TEST(TrendCovariance, CombinationVarianceIsTheQuadraticFormOfTheSharedSamples) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> unit(0, 1);
  const size_t n = 9;
  std::vector<double> t;
  std::vector<int64_t> ns;
  for (size_t k = 0; k < n; ++k) {
    t.push_back(static_cast<double>(k) + 0.3 * unit(rng));
    ns.push_back(static_cast<int64_t>(std::llround(t.back() * 1e9)));
  }
  struct Block {
    double birth, death, var;
    HeldSample sample;
  };
  std::vector<Block> blocks;
  for (int i = 0; i < 40; ++i) {
    const double birth = -3 + 12 * unit(rng), life = 10 * unit(rng), w = 1 + 30 * unit(rng);
    const uint64_t size = 1 + static_cast<uint64_t>(100 * unit(rng));
    blocks.push_back({birth, birth + life, w * (w - 1) * static_cast<double>(size * size),
                      {static_cast<int64_t>(std::llround(birth * 1e9)), size, w}});
  }
  auto live_at = [](const Block& b, double at) { return b.birth <= at && at < b.death; };
  std::vector<SeriesSample> samples;
  std::vector<double> v(n, 0);
  for (size_t k = 0; k < n; ++k)
    for (const Block& b : blocks)
      if (live_at(b, t[k])) {
        samples.push_back({static_cast<uint32_t>(k), 0, b.sample});
        v[k] += b.var;
      }
  const SeriesSharing sharing = ShareOf(samples, std::vector<Births>(n, Births::kComplete), v, ns);
  EXPECT_FALSE(sharing.bound());
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> u(n);
    for (double& x : u) x = unit(rng) - 0.5;
    double expected = 0;
    for (size_t k = 0; k < n; ++k)
      for (size_t l = 0; l < n; ++l)
        for (const Block& b : blocks)
          if (live_at(b, t[k]) && live_at(b, t[l])) expected += u[k] * u[l] * b.var;
    EXPECT_NEAR(CombinationVariance(u, v, &sharing), expected, 1e-9 * expected);
  }
}

// A sample the previous snapshot did not hold, though born before it, was
// decided afresh since (a realloc keeps the birth): it is shared with no
// earlier snapshot. A dump with samples missing from its ages (the age
// table was full) leaves their sharing unknown.
TEST(TrendCovariance, ASampleDecidedAfreshIsNotSharedAndMissingRecordsAreUnknown) {
  const std::vector<int64_t> ns = {0, 1000000000, 2000000000};
  const HeldSample a{-5, 100, 10}, grown{-5, 200, 10};
  const double va = 10 * 9 * 100.0 * 100, vg = 10 * 9 * 200.0 * 200;
  const std::vector<double> growth = {0, -1, 1};
  const std::vector<Births> complete(3, Births::kComplete);
  const SeriesSharing same = ShareOf({{0, 0, a}, {1, 0, a}, {2, 0, a}}, complete, {va, va, va}, ns);
  EXPECT_DOUBLE_EQ(CombinationVariance(growth, {va, va, va}, &same), 0);
  const SeriesSharing afresh = ShareOf({{0, 0, a}, {1, 0, a}, {2, 0, grown}}, complete, {va, va, vg}, ns);
  EXPECT_DOUBLE_EQ(CombinationVariance(growth, {va, va, vg}, &afresh), va + vg);
  EXPECT_FALSE(afresh.bound());
  const SeriesSharing partial = ShareOf({{0, 0, a}, {1, 0, a}, {2, 0, a}},
                                        {Births::kComplete, Births::kComplete, Births::kPartial}, {va, va, 3 * va}, ns);
  EXPECT_TRUE(partial.bound());
  EXPECT_DOUBLE_EQ(partial.unknown[2], 2 * va);
}

// A steady leak's slope variance in closed form equals the quadratic form
// of its samples: every sample made between two snapshots stays.
TEST(TrendCovariance, ASteadyLeaksSlopeVarianceInClosedForm) {
  const std::vector<double> t = {0, 1, 2.5, 3, 4, 6, 7, 8.5};
  const size_t n = t.size();
  SeriesSharing sharing;
  std::vector<double> v(n);
  for (size_t l = 0; l < n; ++l) {
    v[l] = t[l] - t[0];
    for (size_t m = 1; m <= l; ++m) sharing.held.push_back({l, m, t[m] - t[m - 1]});
  }
  sharing.recorded = v;
  sharing.unknown.assign(n, 0);
  double tbar = 0, sxx = 0;
  for (double x : t) tbar += x / static_cast<double>(n);
  for (double x : t) sxx += (x - tbar) * (x - tbar);
  std::vector<double> w;
  for (double x : t) w.push_back((x - tbar) / sxx);
  EXPECT_NEAR(SteadyLeakSlopeVariance(t, w), CombinationVariance(w, v, &sharing), 1e-12);
  EXPECT_GE(SteadyLeakSlopeVariance(t, w), 1 / (t.back() - t.front()));
}

// Taken as independent, 1000 snapshots over 29 s made the limit 327.9 KiB
// at 512 KiB sampling, less than one sampling interval: a leak keeps its
// samples, so more snapshots over the same time see no more of it. The
// limit stays above 9 T, and about the same for 60 snapshots or 1000.
TEST(TrendCovariance, TheDetectionLimitDoesNotShrinkWithMoreSnapshots) {
  const double T = 512 * 1024;
  std::vector<double> many, few;
  for (int i = 0; i < 1000; ++i) many.push_back(0.029 * i);
  for (int i = 0; i < 60; ++i) few.push_back(0.5 * i);
  const double limit = TrendDetectionLimit(many, T, /*births_known=*/true);
  EXPECT_GE(limit, 9 * T);
  EXPECT_NEAR(limit, TrendDetectionLimit(few, T, true), 0.05 * limit);
  EXPECT_GT(TrendDetectionLimit(many, T, false), limit);
}

}  // namespace
}  // namespace leaktrace::reporter
