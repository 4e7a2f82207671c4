// Poisson sampling over allocated bytes: the one place where leaktrace
// decides whether an allocation is sampled.
//
// Picture every allocated byte on one line; sample points fall on it as a
// Poisson process with mean spacing T (LEAKTRACE_SAMPLE). An allocation that
// occupies `c` bytes of the line is sampled when at least one point falls
// inside it, which happens with probability p = 1 - exp(-c / T). Each thread
// keeps the distance to its next point (the countdown, an Exp(T) draw; kept
// less one, SamplerState::gap) and counts it down by each allocation's
// bytes: the hot path is one compare, one subtraction and one branch
// (TryRecord). When a point falls inside an
// allocation the next distance is a fresh Exp(T) draw measured from the end
// of that allocation: points beyond it are independent of those inside it
// (the process is memoryless), so several points in one allocation still
// make one sample with probability p, and nothing biases the next one.
//
// What an allocation occupies: c = max(size, 1). A malloc(0) is a real block
// that can leak, so it takes one byte of the line (and a sampled malloc(0)
// weighs ~T blocks of 0 bytes); every other size counts as itself.
//
// A sampled allocation stands for 1/p allocations like it (Horvitz-Thompson):
// its weight w = 1/p, with p computed from the same c and T as the draw, is
// fixed at the draw and stored with the block, so totals are sums of weights
// and stay unbiased whatever T was at the time. The variance of such a total
// is estimated by the sum of w(w-1) (count) and w(w-1)size^2 (bytes) over
// the samples, which gives the standard errors the reports print.
//
// All of it is per thread (SamplerState lives in the thread's ThreadState):
// no locks, no allocation, async-signal-safe, never throws.
#pragma once

#include <cstddef>
#include <cstdint>

#include "preload/heap/sample_math.h"
#include "preload/internal/compiler.h"

namespace leaktrace::preload {

struct SamplerState {
  // The countdown less one: the next sample point lies in byte `gap` + 1
  // from here. Kept so because TryRecord's test is then size - 1 < gap (one
  // instruction to charge max(size, 1), where the countdown itself took
  // three): a malloc(0) wraps to the largest size and goes to the slow path,
  // which charges it its byte. 0 and `drawn` false: no point drawn yet (a
  // new thread, or reseeded), which also sends every allocation there.
  uint64_t gap;
  uint64_t rng;  // xorshift64 state; 0: not seeded yet
  bool drawn;
};

// Bytes of the sampling line an allocation of `size` occupies (see above).
LT_ALWAYS_INLINE uint64_t ChargedBytes(size_t size) { return static_cast<uint64_t>(size) + (size == 0); }

// The hot-path test. True: the allocation holds no sample point and its
// bytes were counted down. False: the caller must ask SampleSlow (a point
// falls inside it, or the thread's first point is still to be drawn); the
// countdown is then left as it was. Unsigned compare: any size_t is fine.
LT_ALWAYS_INLINE bool TryRecord(SamplerState& s, size_t size) {
  // size >= 1: size < countdown, i.e. size - 1 < gap. size 0 wraps: slow path.
  if (LT_LIKELY(static_cast<uint64_t>(size) - 1 < s.gap)) {
    s.gap -= size;
    return true;
  }
  return false;
}

// The slow path, only after TryRecord returned false for the same size and
// mean: draws the thread's first point if there is none (seeding the
// generator on its first use), then decides. Returns the allocation's
// Horvitz-Thompson weight (> 1 unless p rounds to 1) when it is sampled,
// and then restarts the countdown; 0 when it is not. Out of line.
LT_NOINLINE double SampleSlow(SamplerState& s, size_t size, uint64_t mean);

// SampleSlow's decision without its weight: true when the allocation is
// sampled. For exact mode's aged blocks, whose weight is a function of the
// size that the dump's writer computes (ExactAgedWeight, age_table.h): the
// exponential would be spent on a number nobody reads. Out of line.
LT_NOINLINE bool SampleHitSlow(SamplerState& s, size_t size, uint64_t mean);

// Horvitz-Thompson weight 1/p of an allocation of `size` bytes (charged as
// ChargedBytes(size)) at mean interval `mean`. Exposed for tests.
inline double SampleWeight(size_t size, uint64_t mean) {
  const double x = static_cast<double>(ChargedBytes(size)) / static_cast<double>(mean);
  // exp(-38) < 2^-54, half an ulp below 1: p rounds to exactly 1 (and the
  // exponential costs as much as the rest).
  if (x >= 38) return 1.0;
  const double p = OneMinusExpNeg(x);  // sample_math.h: exact where 1 - exp(-x) would cancel
  return p > 0 ? 1.0 / p : 1.0;
}

// SampleWeight(size, mean) computed from `old_weight`, the weight
// SampleWeight(old_size, mean) of the same block at a smaller size: cheaper
// for the small growths of a buffer grown by realloc in steps, whose weight
// is recomputed at every step. With p = 1/w the probability at old_size and
// d = (size - old_size) / mean, 1 - exp(-(x + d)) = p + (1 - p)(1 - exp(-d)),
// so the new weight is w / (1 + (w - 1) m), m = 1 - exp(-d) from its series:
// one division, against the exponential's long dependent chain. A step over
// kGrownWeightMaxStep, a shrink or an empty old block is computed afresh.
// Each step is within about ten ulp of SampleWeight; chained, the errors add
// up (tests/preload/sampler_test.cc: under 1e-10 over a million steps).
// `per_byte` is 1 / mean (a multiplication where a division would lengthen
// the chain).
inline constexpr double kGrownWeightMaxStep = 1.0 / 256;
LT_ALWAYS_INLINE double GrownWeight(double old_weight, size_t old_size, size_t size, uint64_t mean,
                                    double per_byte) {
  const double d = static_cast<double>(size - old_size) * per_byte;
  if (LT_UNLIKELY(size < old_size || old_size == 0 || d > kGrownWeightMaxStep)) return SampleWeight(size, mean);
  // m = d - d^2/2 + d^3/6 - d^4/24 + d^5/120 (the rest of the series is
  // under d^6 / 720 < 1e-17 of m for d <= 1/256), grouped so that the
  // chain of dependent operations is short: the weight feeds every store
  // the realloc then makes.
  const double d2 = d * d;
  const double tail = (1.0 / 6) - d * (1.0 / 24) + d2 * (1.0 / 120);
  const double m = (d - d2 * 0.5) + d2 * d * tail;
  return old_weight / (1 + (old_weight - 1) * m);
}

// Seeds the generator (any seed; 0 is mapped to a fixed non-zero state) and
// forgets the drawn point, so the next decision draws a fresh one.
void SeedSampler(SamplerState& s, uint64_t seed);

// Next Exp(mean) distance rounded up to whole bytes (so at least 1): the
// point lies in an allocation of c bytes when the distance is <= c. From the
// xorshift state. Exposed for tests.
uint64_t DrawSampleDistance(uint64_t& rng, uint64_t mean);

}  // namespace leaktrace::preload
