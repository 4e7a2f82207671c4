// Exp(1) draws by the ziggurat method (Marsaglia and Tsang, "The Ziggurat
// Method for Generating Random Variables", 2000; the 53-bit form of numpy's
// random_standard_exponential), for the sampler's distances (sampler.cc).
//
// Why not -log(u): every sample, and in exact mode every aged block, draws
// one distance, and the logarithm's chain of dependent operations (a
// division, a polynomial) was a fifth of exact mode's cost on a loop of
// small reallocs. The ziggurat covers the density with 256 layers of equal
// area: a draw picks a layer and a point across it from one 64-bit random
// number, and in about 99 % of draws that point lies under the curve and is
// the result: a table read, a multiplication and a compare. The other draws
// (the layer's edge, or the tail beyond kZigguratR) decide with ExpNeg and
// NegLog, or draw again. The result is distributed exactly as Exp(1) up to
// the 53-bit resolution of the point, as -log(u) of a 53-bit u is.
//
// The tables are built at compile time from sample_math.h's constexpr
// exponential and logarithm (tests/preload/sampler_test.cc checks them
// against libm's): read-only data, no start-up work, no page written.
// Pure functions of the generator's state: async-signal-safe, no allocation.
#pragma once

#include <cstdint>

#include "preload/heap/sample_math.h"
#include "preload/internal/compiler.h"

namespace leaktrace::preload {

// Where the tail starts, and the area of each layer (tail included in the
// bottom one), for 256 layers.
inline constexpr double kZigguratR = 7.69711747013104972;
inline constexpr double kZigguratV = 3.949659822581572e-3;

struct ExpZigguratTables {
  // A point r (53 bits) across layer i lies under the curve when r < k[i].
  uint64_t k[256];
  // The point's x: r * w[i].
  double w[256];
  // The density exp(-x) at the layer's edge.
  double f[256];
};

constexpr ExpZigguratTables MakeExpZigguratTables() {
  constexpr double kTwo53 = 9007199254740992.0;
  ExpZigguratTables z{};
  double de = kZigguratR;
  double te = kZigguratR;
  const double q = kZigguratV / ExpNeg(de);  // the bottom layer's width, tail folded in
  z.k[0] = static_cast<uint64_t>((de / q) * kTwo53);
  z.k[1] = 0;  // the top layer has no part that is surely under the curve
  z.w[0] = q / kTwo53;
  z.w[255] = de / kTwo53;
  z.f[0] = 1.0;
  z.f[255] = ExpNeg(de);
  for (int i = 254; i >= 1; --i) {
    de = NegLog(kZigguratV / de + ExpNeg(de));
    z.k[i + 1] = static_cast<uint64_t>((de / te) * kTwo53);
    te = de;
    z.f[i] = ExpNeg(de);
    z.w[i] = de / kTwo53;
  }
  return z;
}

inline constexpr ExpZigguratTables kExpZiggurat = MakeExpZigguratTables();

// One step of the sampler's xorshift64 generator (state never 0), and the
// xorshift64* output of the new state: the multiplication spreads every
// state bit over the high bits, which the ziggurat splits into a layer and
// a point.
LT_ALWAYS_INLINE uint64_t NextRandom(uint64_t& rng) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng * 0x2545F4914F6CDD1DULL;
}

// A uniform double in (0, 1], 53 random bits.
LT_ALWAYS_INLINE double NextUniform(uint64_t& rng) {
  return (static_cast<double>(NextRandom(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

LT_NOINLINE double ExpZigguratSlow(uint64_t& rng, unsigned layer, double x);

// An Exp(1) draw from the generator state `rng` (never 0).
LT_ALWAYS_INLINE double StandardExponential(uint64_t& rng) {
  const uint64_t bits = NextRandom(rng) >> 3;
  const unsigned layer = static_cast<unsigned>(bits & 0xff);
  const uint64_t r = bits >> 8;  // 53 bits
  const double x = static_cast<double>(r) * kExpZiggurat.w[layer];
  if (LT_LIKELY(r < kExpZiggurat.k[layer])) return x;
  return ExpZigguratSlow(rng, layer, x);
}

// The rare draws: the tail (layer 0 beyond kZigguratR: kZigguratR plus a
// fresh Exp(1), the density being memoryless), a layer's edge (kept when a
// uniform height under the layer's top falls under the curve), else a
// draw afresh. Out of line.
LT_NOINLINE inline double ExpZigguratSlow(uint64_t& rng, unsigned layer, double x) {
  if (layer == 0) return kZigguratR + NegLog(NextUniform(rng));
  const double f_top = kExpZiggurat.f[layer - 1];
  const double f_here = kExpZiggurat.f[layer];
  if (f_here + NextUniform(rng) * (f_top - f_here) < ExpNeg(x)) return x;
  return StandardExponential(rng);
}

}  // namespace leaktrace::preload
