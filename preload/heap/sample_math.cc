#include "preload/heap/sample_math.h"

namespace leaktrace::preload {

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

}  // namespace leaktrace::preload
