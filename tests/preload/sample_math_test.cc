// The sampler's own exponential and logarithm (preload/heap/sample_math.h)
// against libm, over the whole of each domain and where each is hardest:
// 1 - exp(-x) for tiny x (cancellation), -log(u) near 1 and at u's smallest.
#include "preload/heap/sample_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

namespace leaktrace::preload {
namespace {

// Distance in units in the last place of `expected` (libm's, correctly
// rounded or within half an ulp of it for these functions in glibc).
double Ulps(double got, double expected) {
  if (got == expected) return 0;
  return std::fabs(got - expected) / (std::nextafter(std::fabs(expected), INFINITY) - std::fabs(expected));
}

constexpr double kMaxUlps = 2;

TEST(SampleMath, ExpNegIsLibmsExpOverItsDomain) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> wide(0, 700), narrow(0, 40);
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = i % 2 ? wide(rng) : narrow(rng);
    const double u = Ulps(ExpNeg(x), std::exp(-x));
    ASSERT_LE(u, kMaxUlps) << "x " << x;
    worst = std::max(worst, u);
  }
  EXPECT_EQ(ExpNeg(0), 1.0);
  for (double x : {0.5, 1.0, 38.0, 0.34657359027997264, 0.34657359027997270, 700.0})
    EXPECT_LE(Ulps(ExpNeg(x), std::exp(-x)), kMaxUlps) << "x " << x;
  RecordProperty("worst_ulps", std::to_string(worst));
}

TEST(SampleMath, OneMinusExpNegKeepsItsDigitsForTinyX) {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> exponent(-60, std::log2(40.0));
  for (int i = 0; i < 200000; ++i) {
    const double x = std::exp2(exponent(rng));
    ASSERT_LE(Ulps(OneMinusExpNeg(x), -std::expm1(-x)), kMaxUlps) << "x " << x;
  }
  EXPECT_EQ(OneMinusExpNeg(0), 0.0);
  EXPECT_EQ(OneMinusExpNeg(1e-300), 1e-300);
  for (double x : {0.4999999999999999, 0.5, 1.0 / 524288, 1.0 / 64, std::nextafter(1.0 / 64, 0.0)})
    EXPECT_LE(Ulps(OneMinusExpNeg(x), -std::expm1(-x)), kMaxUlps) << "x " << x;
}

TEST(SampleMath, NegLogIsLibmsLogOnTheUnitInterval) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    // The sampler's own u: 53 random bits, in (0, 1].
    const double u = (static_cast<double>(rng() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    ASSERT_LE(Ulps(NegLog(u), -std::log(u)), kMaxUlps) << "u " << u;
  }
  EXPECT_EQ(NegLog(1.0), 0.0);
  EXPECT_FALSE(std::signbit(NegLog(1.0)));
  for (double u : {0x1p-53, 0.5, 0.70710678118654746, 0.70710678118654757, 1 - 0x1p-53, 0.9999, 1e-10})
    EXPECT_LE(Ulps(NegLog(u), -std::log(u)), kMaxUlps) << "u " << u;
}

}  // namespace
}  // namespace leaktrace::preload
