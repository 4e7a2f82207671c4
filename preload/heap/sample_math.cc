#include "preload/heap/sample_math.h"

namespace leaktrace::preload {
namespace {

// ln 2 in two parts: kLn2Hi has its low 32 bits zero, so k * kLn2Hi is exact
// for any |k| < 2^20 and the reduction x - k ln 2 loses nothing.
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;

double FromBits(uint64_t bits) {
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

uint64_t ToBits(double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  return bits;
}

// 2^(j/32), j = 0..31, each the double nearest the exact value.
constexpr double kExp2Table[32] = {
    0x1.0000000000000p+0, 0x1.059b0d3158574p+0, 0x1.0b5586cf9890fp+0, 0x1.11301d0125b51p+0,
    0x1.172b83c7d517bp+0, 0x1.1d4873168b9aap+0, 0x1.2387a6e756238p+0, 0x1.29e9df51fdee1p+0,
    0x1.306fe0a31b715p+0, 0x1.371a7373aa9cbp+0, 0x1.3dea64c123422p+0, 0x1.44e086061892dp+0,
    0x1.4bfdad5362a27p+0, 0x1.5342b569d4f82p+0, 0x1.5ab07dd485429p+0, 0x1.6247eb03a5585p+0,
    0x1.6a09e667f3bcdp+0, 0x1.71f75e8ec5f74p+0, 0x1.7a11473eb0187p+0, 0x1.82589994cce13p+0,
    0x1.8ace5422aa0dbp+0, 0x1.93737b0cdc5e5p+0, 0x1.9c49182a3f090p+0, 0x1.a5503b23e255dp+0,
    0x1.ae89f995ad3adp+0, 0x1.b7f76f2fb5e47p+0, 0x1.c199bdd85529cp+0, 0x1.cb720dcef9069p+0,
    0x1.d5818dcfba487p+0, 0x1.dfc97337b9b5fp+0, 0x1.ea4afa2a490dap+0, 0x1.f50765b6e4540p+0,
};

}  // namespace

double ExpNeg(double x) {
  if (x > 700) x = 700;
  const double y = -x;
  // y = k ln2/32 + r with k an integer and |r| <= ln2/64: k is y 32/ln2
  // rounded to the nearest integer (adding and taking back 1.5 * 2^52 rounds
  // in the current, round-to-nearest, mode: no libm round()). kLn2Hi / 32
  // keeps kLn2Hi's zero low bits, so k * kLn2Hi / 32 is exact.
  constexpr double kShift = 6755399441055744.0;
  const double kd = (y * (32 * kInvLn2) + kShift) - kShift;
  const double r = (y - kd * (kLn2Hi / 32)) - kd * (kLn2Lo / 32);
  const int64_t k = static_cast<int64_t>(kd);
  // e^y = 2^(k >> 5) * 2^((k & 31) / 32) * e^r, e^r - 1 from its Taylor
  // polynomial to r^6 (the remainder, r^7 / 7! < 4e-18, is far below an ulp).
  const double em1 = r + r * r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720)))));
  const double t = kExp2Table[k & 31];
  // 2^(k >> 5), -1011 <= k >> 5 <= 0: a normal double built from its exponent.
  const double scale = FromBits(static_cast<uint64_t>((k >> 5) + 1023) << 52);
  return (t + t * em1) * scale;
}

double OneMinusExpNeg(double x) {
  if (x >= 0.5) return 1.0 - ExpNeg(x);  // exp(-x) <= 0.61: the subtraction loses under an ulp
  // 1 - e^-x = x - x^2 P(x), P(x) = 1/2! - x/3! + x^2/4! - ...: the
  // correction x^2 P is under a third of the result, so its rounding costs a
  // fraction of an ulp. P to x^15 leaves under x^16 / 18! (1e-21 at x = 1/2).
  // Evaluated in a tree (Estrin's scheme), not nested: the nested form is a
  // chain of 16 dependent multiply-adds, ~50 ns of latency on every sample.
  constexpr double b[16] = {1.0 / 2,        -1.0 / 6,        1.0 / 24,           -1.0 / 120,
                            1.0 / 720,      -1.0 / 5040,     1.0 / 40320,        -1.0 / 362880,
                            1.0 / 3628800,  -1.0 / 39916800, 1.0 / 479001600,    -1.0 / 6227020800.0,
                            1.0 / 87178291200.0, -1.0 / 1307674368000.0, 1.0 / 20922789888000.0,
                            -1.0 / 355687428096000.0};
  const double x2 = x * x, x4 = x2 * x2, x8 = x4 * x4;
  const double q0 = b[0] + b[1] * x, q1 = b[2] + b[3] * x, q2 = b[4] + b[5] * x, q3 = b[6] + b[7] * x;
  const double q4 = b[8] + b[9] * x, q5 = b[10] + b[11] * x, q6 = b[12] + b[13] * x, q7 = b[14] + b[15] * x;
  const double r0 = q0 + q1 * x2, r1 = q2 + q3 * x2, r2 = q4 + q5 * x2, r3 = q6 + q7 * x2;
  const double s0 = r0 + r1 * x4, s1 = r2 + r3 * x4;
  return x - x2 * (s0 + s1 * x8);
}

double NegLog(double u) {
  // u = 2^k m with m in [sqrt(2)/2, sqrt(2)), found by integer arithmetic on
  // the high word and without a branch: a test of m against sqrt(2) goes
  // either way at random on the sampler's u and mispredicts about half the
  // time. Adding 1 - 0x3fe6a09e to the high word carries into the exponent
  // exactly when the mantissa reaches sqrt(2)'s.
  const uint64_t bits = ToBits(u);
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
  const double f = FromBits(m_bits) - 1.0;  // exact
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double p = (c1 + c2 * z) + w * (c3 + c4 * z) + (w * w) * ((c5 + c6 * z) + w * c7);
  const double r = z * p;
  const double half_f2 = 0.5 * f * f;
  const double log_m = f - (half_f2 - s * (half_f2 + r));
  const double kd = static_cast<double>(k);
  return (0.0 - kd) * kLn2Hi - (log_m + kd * kLn2Lo);  // 0.0 - kd: +0, not -0, at u = 1
}

}  // namespace leaktrace::preload
