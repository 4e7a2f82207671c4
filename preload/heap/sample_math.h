// The exponential and the logarithm the sampler needs, computed here and not
// by libm. Linking libm would load a library of its own into every process
// started under leaktrace (about 80 us of each start, issue #12) for three
// functions on narrow domains. Each is within 2 ulp of libm's correctly
// rounded result over its domain (tests/preload/sample_math_test.cc).
//
// Pure functions: async-signal-safe, no allocation, errno untouched.
#pragma once

#include <cstdint>
#include <cstring>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

// exp(-x) for 0 <= x <= 700 (larger x gives exp(-700), about 1e-304).
double ExpNeg(double x);

// 1 - exp(-x) for 0 <= x <= 700, without the cancellation of computing it
// as 1 - exp(-x) when x is small.
double OneMinusExpNeg(double x);

// -log(u) for 0 < u <= 1 (normal doubles only: the sampler's u is at least
// 2^-53).
double NegLog(double u);

}  // namespace leaktrace::preload
