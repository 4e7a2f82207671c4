// The exponential and the logarithm the sampler needs, computed here and not
// by libm. Linking libm would load a library of its own into every process
// started under leaktrace (about 80 us of each start, issue #12) for three
// functions on narrow domains. Each is within 2 ulp of libm's correctly
// rounded result over its domain (tests/preload/sample_math_test.cc).
//
// Pure functions: async-signal-safe, no allocation, errno untouched.
// ExpNeg and NegLog are constexpr: the sampler's ziggurat tables
// (exp_ziggurat.h) are built from them at compile time.
#pragma once

#include <cstdint>
#include <bit>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {
namespace sample_math_detail {

// ln 2 in two parts: kLn2Hi has its low 32 bits zero, so k * kLn2Hi is exact
// for any |k| < 2^20 and the reduction x - k ln 2 loses nothing.
inline constexpr double kLn2Hi = 6.93147180369123816490e-01;
inline constexpr double kLn2Lo = 1.90821492927058770002e-10;
inline constexpr double kInvLn2 = 1.44269504088896338700e+00;

// 2^(j/32), j = 0..31, each the double nearest the exact value.
inline constexpr double kExp2Table[32] = {
    0x1.0000000000000p+0, 0x1.059b0d3158574p+0, 0x1.0b5586cf9890fp+0, 0x1.11301d0125b51p+0,
    0x1.172b83c7d517bp+0, 0x1.1d4873168b9aap+0, 0x1.2387a6e756238p+0, 0x1.29e9df51fdee1p+0,
    0x1.306fe0a31b715p+0, 0x1.371a7373aa9cbp+0, 0x1.3dea64c123422p+0, 0x1.44e086061892dp+0,
    0x1.4bfdad5362a27p+0, 0x1.5342b569d4f82p+0, 0x1.5ab07dd485429p+0, 0x1.6247eb03a5585p+0,
    0x1.6a09e667f3bcdp+0, 0x1.71f75e8ec5f74p+0, 0x1.7a11473eb0187p+0, 0x1.82589994cce13p+0,
    0x1.8ace5422aa0dbp+0, 0x1.93737b0cdc5e5p+0, 0x1.9c49182a3f090p+0, 0x1.a5503b23e255dp+0,
    0x1.ae89f995ad3adp+0, 0x1.b7f76f2fb5e47p+0, 0x1.c199bdd85529cp+0, 0x1.cb720dcef9069p+0,
    0x1.d5818dcfba487p+0, 0x1.dfc97337b9b5fp+0, 0x1.ea4afa2a490dap+0, 0x1.f50765b6e4540p+0,
};

}  // namespace sample_math_detail

// exp(-x) for 0 <= x <= 700 (larger x gives exp(-700), about 1e-304).
constexpr double ExpNeg(double x) {
  if (x > 700) x = 700;
  const double y = -x;
  // y = k ln2/32 + r with k an integer and |r| <= ln2/64: k is y 32/ln2
  // rounded to the nearest integer (adding and taking back 1.5 * 2^52 rounds
  // in the current, round-to-nearest, mode: no libm round()). kLn2Hi / 32
  // keeps kLn2Hi's zero low bits, so k * kLn2Hi / 32 is exact.
  constexpr double kShift = 6755399441055744.0;
  const double kd = (y * (32 * sample_math_detail::kInvLn2) + kShift) - kShift;
  const double r = (y - kd * (sample_math_detail::kLn2Hi / 32)) - kd * (sample_math_detail::kLn2Lo / 32);
  const int64_t k = static_cast<int64_t>(kd);
  // e^y = 2^(k >> 5) * 2^((k & 31) / 32) * e^r, e^r - 1 from its Taylor
  // polynomial to r^6 (the remainder, r^7 / 7! < 4e-18, is far below an ulp).
  const double em1 = r + r * r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720)))));
  const double t = sample_math_detail::kExp2Table[k & 31];
  // 2^(k >> 5), -1011 <= k >> 5 <= 0: a normal double built from its exponent.
  const double scale = std::bit_cast<double>(static_cast<uint64_t>((k >> 5) + 1023) << 52);
  return (t + t * em1) * scale;
}


// 1 - exp(-x) for 0 <= x <= 700, without the cancellation of computing it
// as 1 - exp(-x) when x is small.
double OneMinusExpNeg(double x);

// -log(u) for 0 < u <= 1 (normal doubles only: the sampler's u is at least
// 2^-53).
constexpr double NegLog(double u) {
  // u = 2^k m with m in [sqrt(2)/2, sqrt(2)), found by integer arithmetic on
  // the high word and without a branch: a test of m against sqrt(2) goes
  // either way at random on the sampler's u and mispredicts about half the
  // time. Adding 1 - 0x3fe6a09e to the high word carries into the exponent
  // exactly when the mantissa reaches sqrt(2)'s.
  const uint64_t bits = std::bit_cast<uint64_t>(u);
  const uint32_t high = static_cast<uint32_t>(bits >> 32) + (0x3ff00000u - 0x3fe6a09eu);
  const int64_t k = static_cast<int64_t>(high >> 20) - 0x3ff;
  const uint64_t m_bits = (static_cast<uint64_t>((high & 0x000fffffu) + 0x3fe6a09eu) << 32) | (bits & 0xffffffffu);
  // log m = log(1 + f) = 2 atanh(s), s = f / (2 + f), |s| < 0.1716; written
  // as f - (f^2/2 - s (f^2/2 + R)) with R = z P(z), z = s^2, P the degree-6
  // minimax polynomial for (2 atanh(s)/s - 2) / z on that interval (error
  // under 2^-58 of log m), evaluated as a tree (Estrin's scheme) for latency.
  constexpr double c1 = 6.666666666666735130e-01, c2 = 3.999999999940941908e-01;
  constexpr double c3 = 2.857142874366239149e-01, c4 = 2.222219843214978396e-01;
  constexpr double c5 = 1.818357216161805012e-01, c6 = 1.531383769920937332e-01;
  constexpr double c7 = 1.479819860511658591e-01;
  const double f = std::bit_cast<double>(m_bits) - 1.0;  // exact
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double p = (c1 + c2 * z) + w * (c3 + c4 * z) + (w * w) * ((c5 + c6 * z) + w * c7);
  const double r = z * p;
  const double half_f2 = 0.5 * f * f;
  const double log_m = f - (half_f2 - s * (half_f2 + r));
  const double kd = static_cast<double>(k);
  return (0.0 - kd) * sample_math_detail::kLn2Hi - (log_m + kd * sample_math_detail::kLn2Lo);  // 0.0 - kd: +0, not -0, at u = 1
}


}  // namespace leaktrace::preload
