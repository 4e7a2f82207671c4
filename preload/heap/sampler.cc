#include "preload/heap/sampler.h"

#include <time.h>

#include "preload/heap/exp_ziggurat.h"
#include "preload/internal/kernel_clock.h"

namespace leaktrace::preload {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser: nearby seeds give unrelated states
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

void SeedSampler(SamplerState& s, uint64_t seed) {
  s.rng = Mix(seed);
  if (s.rng == 0) s.rng = 0x9E3779B97F4A7C15ULL;
  s.gap = 0;
  s.drawn = false;
}

uint64_t DrawSampleDistance(uint64_t& rng, uint64_t mean) {
  if (rng == 0) rng = 0x9E3779B97F4A7C15ULL;
  const double d = StandardExponential(rng) * static_cast<double>(mean);  // exp_ziggurat.h
  // Rounded up: the point lies in byte ceil(d), so an allocation of c bytes
  // holds it exactly when d <= c, with probability 1 - exp(-c/T). (Rounding
  // down would sample each allocation as if it were one byte larger.)
  if (d <= 1) return 1;
  if (d > 4e18) return uint64_t{4000000000000000000};
  const uint64_t k = static_cast<uint64_t>(d);  // not std::ceil: a libm call on plain x86-64
  return static_cast<double>(k) < d ? k + 1 : k;
}

namespace {

// The decision both slow paths share: true when a point falls in the
// allocation (the countdown then restarts), false when it lies beyond it
// (the countdown then moves past the allocation).
LT_ALWAYS_INLINE bool PointFallsIn(SamplerState& s, size_t size, uint64_t mean) {
  const uint64_t c = ChargedBytes(size);
  if (!s.drawn) {
    // The thread's first decision: seed (the state's address tells threads
    // apart, the clock tells processes and runs apart), draw the first
    // point, then decide this allocation against it like any other.
    if (s.rng == 0) {
      timespec ts;
      KernelClockGettime(CLOCK_MONOTONIC, &ts);
      const uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
      SeedSampler(s, reinterpret_cast<uintptr_t>(&s) * 0x9E3779B97F4A7C15ULL ^ now);
    }
    s.gap = DrawSampleDistance(s.rng, mean) - 1;
    s.drawn = true;
  }
  // c < countdown: the point lies beyond this allocation (a malloc(0),
  // which TryRecord always sends here, and a first decision land here).
  if (c <= s.gap) {
    s.gap -= c;
    return false;
  }
  s.gap = DrawSampleDistance(s.rng, mean) - 1;
  return true;
}

}  // namespace

double SampleSlow(SamplerState& s, size_t size, uint64_t mean) {
  return PointFallsIn(s, size, mean) ? SampleWeight(size, mean) : 0;
}

bool SampleHitSlow(SamplerState& s, size_t size, uint64_t mean) { return PointFallsIn(s, size, mean); }

}  // namespace leaktrace::preload
