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
  const uint64_t bits = ToBits(u);
  int64_t e = static_cast<int64_t>((bits >> 52) & 0x7ff) - 1023;
  double m = FromBits((bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1023} << 52));  // in [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    ++e;
  }
  // log m = log(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 0.1716; written
  // as f - (f^2/2 - s (f^2/2 + R)) with R = 2/3 s^2 + 2/5 s^4 + ..., whose
  // series to s^20 leaves under 1e-18; evaluated in a tree (Estrin's
  // scheme) rather than nested, for a third of the latency.
  const double f = m - 1.0;  // exact
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
  const double q0 = 2.0 / 3 + 2.0 / 5 * z, q1 = 2.0 / 7 + 2.0 / 9 * z, q2 = 2.0 / 11 + 2.0 / 13 * z;
  const double q3 = 2.0 / 15 + 2.0 / 17 * z, q4 = 2.0 / 19 + 2.0 / 21 * z;
  const double series = (q0 + q1 * z2) + (q2 + q3 * z2) * z4 + q4 * z8;
  const double r = z * series;
  const double half_f2 = 0.5 * f * f;
  const double log_m = f - (half_f2 - s * (half_f2 + r));
  const double ed = static_cast<double>(e);
  return (0.0 - ed) * kLn2Hi - (log_m + ed * kLn2Lo);  // 0.0 - ed: +0, not -0, at u = 1
}

}  // namespace leaktrace::preload
