// Poisson sampling over allocated bytes.
//
// Picture every allocated byte on one line; sample points fall on it as a
// Poisson process with mean spacing T (LEAKTRACE_SAMPLE). An allocation of
// `size` bytes is sampled when at least one point falls inside it, which
// happens with probability p = 1 - exp(-size / T). Each thread keeps the
// distance to its next point (an Exp(T) draw, memoryless) and counts it down
// by each allocation's size: the hot path is one subtraction and one branch.
//
// A sampled allocation stands for 1/p allocations like it (Horvitz-Thompson):
// its weight w = 1/p is fixed at the draw and stored with the block, so totals
// are sums of weights and stay unbiased whatever T was at the time. The
// variance of such a total is estimated by the sum of w(w-1) (count) and
// w(w-1)size^2 (bytes) over the samples, which gives the standard errors the
// reports print.
#pragma once

#include <cmath>
#include <cstdint>

namespace leaktrace::preload {

// Next Exp(mean) draw, at least 1, from the thread's xorshift state.
int64_t DrawSampleDistance(uint64_t& rng, uint64_t mean);

// Horvitz-Thompson weight of a sampled allocation of `size` bytes.
inline double SampleWeight(uint64_t size, uint64_t mean) {
  const double p = -std::expm1(-static_cast<double>(size) / static_cast<double>(mean));
  return p > 0 ? 1.0 / p : 1.0;
}

}  // namespace leaktrace::preload
