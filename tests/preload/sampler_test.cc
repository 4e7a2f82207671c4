// The heap sampler (preload/heap/sampler.h): the distances it draws are Exp(T),
// allocations are sampled with p = 1 - exp(-max(size, 1)/T), the weights make
// totals unbiased, and seeding is reproducible. Fixed seeds: deterministic.
#include "preload/heap/sampler.h"
#include "preload/heap/exp_ziggurat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace leaktrace::preload {
namespace {

constexpr uint64_t kT = 512 * 1024;

// One decision as the heap paths make it: 0 or the weight.
double Decide(SamplerState& s, size_t size, uint64_t mean = kT) {
  return TryRecord(s, size) ? 0 : SampleSlow(s, size, mean);
}

TEST(Sampler, DistancesAreExponentialWithMeanT) {
  uint64_t rng = 12345;
  constexpr int kN = 200000;
  std::vector<double> d(kN);
  double sum = 0;
  for (double& x : d) {
    x = static_cast<double>(DrawSampleDistance(rng, kT));
    sum += x;
  }
  // Standard error of the mean: T / sqrt(N) = 0.22 % of T.
  EXPECT_NEAR(sum / kN, static_cast<double>(kT), 0.01 * kT);
  // Kolmogorov-Smirnov against Exp(T); 1.95 / sqrt(N) is the 0.1 % critical value.
  std::sort(d.begin(), d.end());
  double ks = 0;
  for (int i = 0; i < kN; ++i) {
    const double f = 1 - std::exp(-d[i] / kT);
    ks = std::max({ks, f - static_cast<double>(i) / kN, static_cast<double>(i + 1) / kN - f});
  }
  EXPECT_LT(ks, 1.95 / std::sqrt(static_cast<double>(kN)));
}

// The ziggurat's tables (exp_ziggurat.h), built at compile time from
// sample_math.h's own exponential and logarithm, are those libm builds.
TEST(Sampler, ZigguratTablesAreTheOnesLibmBuilds) {
  constexpr double kTwo53 = 9007199254740992.0;
  double de = kZigguratR, te = kZigguratR;
  const double q = kZigguratV / std::exp(-de);
  const auto near = [](double a, double b) { return std::abs(a - b) <= 1e-13 * std::abs(b); };
  EXPECT_TRUE(near(static_cast<double>(kExpZiggurat.k[0]), (de / q) * kTwo53));
  EXPECT_EQ(kExpZiggurat.k[1], 0u);
  EXPECT_TRUE(near(kExpZiggurat.w[0], q / kTwo53));
  EXPECT_TRUE(near(kExpZiggurat.f[255], std::exp(-de)));
  for (int i = 254; i >= 1; --i) {
    de = -std::log(kZigguratV / de + std::exp(-de));
    EXPECT_TRUE(near(static_cast<double>(kExpZiggurat.k[i + 1]), (de / te) * kTwo53)) << i;
    te = de;
    EXPECT_TRUE(near(kExpZiggurat.f[i], std::exp(-de))) << i;
    EXPECT_TRUE(near(kExpZiggurat.w[i], de / kTwo53)) << i;
  }
  // The top layer reaches x = 0 with the area of every other: the
  // recurrence closed.
  EXPECT_NEAR(de * (1 - std::exp(-de)), kZigguratV, 1e-9);
}

// Every part of the ziggurat at its share: 4,000,000 draws in 250 bins of
// equal probability under Exp(1) (chi-square, 249 degrees of freedom), and
// the tail beyond kZigguratR (a fresh draw) and far beyond it.
TEST(Sampler, ExponentialDrawsFillEveryBinAndTheTail) {
  uint64_t rng = 0x1234567;
  constexpr int kN = 4000000, kBins = 250;
  std::vector<int> bins(kBins);
  int beyond_r = 0, beyond_12 = 0;
  double sum = 0;
  for (int i = 0; i < kN; ++i) {
    const double x = StandardExponential(rng);
    ASSERT_GE(x, 0);
    sum += x;
    // F(x) = 1 - exp(-x): the bin of equal probability it falls in.
    const int bin = std::min(kBins - 1, static_cast<int>((1 - std::exp(-x)) * kBins));
    ++bins[bin];
    if (x > kZigguratR) ++beyond_r;
    if (x > 12) ++beyond_12;
  }
  double chi2 = 0;
  const double expected = static_cast<double>(kN) / kBins;
  for (int b : bins) chi2 += (b - expected) * (b - expected) / expected;
  // 249 degrees of freedom: mean 249, sd 22.3; 350 is beyond the 0.001 % point.
  EXPECT_LT(chi2, 350) << "chi-square";
  EXPECT_GT(chi2, 160) << "chi-square: too regular for random draws";
  EXPECT_NEAR(sum / kN, 1.0, 5 * 1.0 / std::sqrt(static_cast<double>(kN)));
  // P(x > r) = exp(-r) = 4.53e-4: 1,812 expected, sd 43.
  EXPECT_NEAR(beyond_r, kN * std::exp(-kZigguratR), 5 * std::sqrt(kN * std::exp(-kZigguratR)));
  // P(x > 12) = 6.1e-6: 24.6 expected, sd 5.
  EXPECT_NEAR(beyond_12, kN * std::exp(-12.0), 5 * std::sqrt(kN * std::exp(-12.0)));
}

TEST(Sampler, DistancesAreAtLeastOneByte) {
  uint64_t rng = 99;
  for (int i = 0; i < 100000; ++i) ASSERT_GE(DrawSampleDistance(rng, 2), 1u);
}

// An allocation of s bytes is sampled with p = 1 - exp(-s/T), whatever the
// sizes around it (the countdown is memoryless).
TEST(Sampler, SampledWithProbabilityOneMinusExpMinusSizeOverT) {
  SamplerState s{};
  SeedSampler(s, 7);
  constexpr int kN = 200000;
  for (const size_t size : {size_t{kT / 4}, size_t{kT}, size_t{3 * kT}}) {
    int sampled = 0;
    for (int i = 0; i < kN; ++i) {
      if (Decide(s, size) > 0) ++sampled;
      Decide(s, 100);  // other traffic in between
    }
    const double p = 1 - std::exp(-static_cast<double>(size) / kT);
    const double sd = std::sqrt(p * (1 - p) / kN);
    EXPECT_NEAR(static_cast<double>(sampled) / kN, p, 5 * sd + 1e-9) << "size " << size;
  }
}

// Sum of weights estimates the count, per size, without bias: the weight
// comes from the same p as the draw.
TEST(Sampler, WeightsEstimateCountsWithoutBias) {
  SamplerState s{};
  SeedSampler(s, 2024);
  constexpr uint64_t kMean = 4096;  // small, so that even 0-byte blocks get samples
  const size_t sizes[] = {0, 1, 24, 512, 2 * kMean, 4 * kMean};
  constexpr int kN = 400000;
  double total[6] = {}, var[6] = {};
  for (int i = 0; i < kN; ++i)
    for (int k = 0; k < 6; ++k)
      if (const double w = Decide(s, sizes[k], kMean); w > 0) {
        total[k] += w;
        var[k] += w * (w - 1);
      }
  for (int k = 0; k < 6; ++k)
    EXPECT_NEAR(total[k], kN, 5 * std::sqrt(var[k]) + 1e-9) << "size " << sizes[k];
}

TEST(Sampler, WeightsAtZeroOneAndTheInterval) {
  // malloc(0) takes one byte of the line, like malloc(1).
  EXPECT_EQ(SampleWeight(0, kT), SampleWeight(1, kT));
  EXPECT_NEAR(SampleWeight(1, kT), kT + 0.5, 1e-3);  // 1/(1 - exp(-1/T)) = T + 1/2 + O(1/T)
  EXPECT_NEAR(SampleWeight(kT, kT), 1 / (1 - std::exp(-1.0)), 1e-12);
  EXPECT_EQ(SampleWeight(SIZE_MAX, kT), 1.0);
  EXPECT_EQ(SampleWeight(64 << 20, kT), 1.0);
}

// A weight grown step by step from the last one (a buffer grown by
// realloc) stays the weight of its size: per step, and chained over a
// million 64-byte steps, in both modes' intervals.
TEST(Sampler, GrownWeightsAreTheWeightsOfTheirSize) {
  for (const uint64_t mean : {uint64_t{16 * 1024}, kT}) {
    for (const size_t from : {size_t{1}, size_t{100}, size_t{4096}, size_t{32 * 1024}, size_t{1} << 20}) {
      for (const size_t step : {size_t{0}, size_t{1}, size_t{64}, size_t{4096}, size_t{1} << 20}) {
        const double grown = GrownWeight(SampleWeight(from, mean), from, from + step, mean, 1.0 / mean);
        EXPECT_NEAR(grown, SampleWeight(from + step, mean), 2e-15 * SampleWeight(from + step, mean))
            << "mean " << mean << " from " << from << " step " << step;
      }
      // A shrink is computed afresh.
      EXPECT_EQ(GrownWeight(SampleWeight(from + 10, mean), from + 10, from, mean, 1.0 / mean), SampleWeight(from, mean));
    }
    double w = SampleWeight(64, mean);
    double worst = 0;
    for (size_t size = 64; size < (size_t{64} << 20); size += 64) {
      w = GrownWeight(w, size, size + 64, mean, 1.0 / static_cast<double>(mean));
      worst = std::max(worst, std::fabs(w / SampleWeight(size + 64, mean) - 1));
    }
    EXPECT_LT(worst, 1e-10) << "mean " << mean;
    EXPECT_NEAR(w, 1.0, 1e-12) << "mean " << mean;
  }
}

TEST(Sampler, ZeroByteAllocationsAreSampledToo) {
  SamplerState s{};
  SeedSampler(s, 3);
  constexpr int kN = 100000;
  int sampled = 0;
  for (int i = 0; i < kN; ++i)
    if (Decide(s, 0, 64) > 0) ++sampled;
  const double p = 1 - std::exp(-1.0 / 64);
  EXPECT_NEAR(static_cast<double>(sampled) / kN, p, 5 * std::sqrt(p * (1 - p) / kN));
}

// The countdown kept as one less (SamplerState::gap): an allocation is
// charged max(size, 1) bytes exactly, by TryRecord for size >= 1 and by the
// slow path for a malloc(0).
TEST(Sampler, EachAllocationIsChargedItsSizeOrOneByte) {
  SamplerState s{};
  SeedSampler(s, 6);
  s.drawn = true;
  s.gap = 9;  // the point lies in the 10th byte from here
  EXPECT_FALSE(TryRecord(s, 10)) << "10 bytes hold the point";
  EXPECT_FALSE(TryRecord(s, 0)) << "a malloc(0) always takes the slow path";
  EXPECT_EQ(SampleSlow(s, 0, kT), 0.0) << "its one byte does not reach the point";
  EXPECT_EQ(s.gap, 8u);
  EXPECT_TRUE(TryRecord(s, 8));
  EXPECT_EQ(s.gap, 0u);
  EXPECT_FALSE(TryRecord(s, 1)) << "the next byte is the point";
  EXPECT_GT(SampleSlow(s, 1, kT), 0.0);
  EXPECT_TRUE(s.drawn);
}

TEST(Sampler, SizesAboveInt64MaxAreFine) {
  SamplerState s{};
  SeedSampler(s, 4);
  Decide(s, 1);  // the first point is drawn
  const uint64_t before = s.gap;
  EXPECT_FALSE(TryRecord(s, SIZE_MAX));
  EXPECT_EQ(s.gap, before) << "a refused TryRecord leaves the countdown";
  EXPECT_EQ(SampleSlow(s, SIZE_MAX, kT), 1.0);
  EXPECT_TRUE(s.drawn);
}

TEST(Sampler, ANewThreadsFirstAllocationDrawsItsFirstPoint) {
  SamplerState s{};  // what a new thread's TLS holds
  EXPECT_FALSE(TryRecord(s, 1)) << "no point drawn yet: the slow path must run";
  SampleSlow(s, 1, kT);
  EXPECT_NE(s.rng, 0u) << "seeded on first use";
  EXPECT_TRUE(s.drawn);
}

TEST(Sampler, SeedingIsReproducibleAndSeedsDiffer) {
  auto run = [](uint64_t seed) {
    SamplerState s{};
    SeedSampler(s, seed);
    std::vector<int> picks;
    for (int i = 0; i < 20000; ++i)
      if (Decide(s, 4096, 64 * 1024) > 0) picks.push_back(i);
    return picks;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
  EXPECT_NE(run(0), run(1)) << "seed 0 is a seed like any other";
  // Reseeding forgets the drawn point: the next decision draws afresh.
  SamplerState s{};
  SeedSampler(s, 5);
  Decide(s, 10);
  SeedSampler(s, 5);
  EXPECT_FALSE(s.drawn);
  EXPECT_EQ(s.gap, 0u);
  EXPECT_FALSE(TryRecord(s, 1)) << "a forgotten point sends the next allocation to the slow path";
}

}  // namespace
}  // namespace leaktrace::preload
