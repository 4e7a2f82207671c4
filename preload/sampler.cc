#include "preload/sampler.h"

namespace leaktrace::preload {

int64_t DrawSampleDistance(uint64_t& rng, uint64_t mean) {
  if (rng == 0) rng = 0x9E3779B97F4A7C15ULL;
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  // 53 random bits -> u in (0, 1]; -log(u) is Exp(1).
  const double u = (static_cast<double>(rng >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  const double d = -std::log(u) * static_cast<double>(mean);
  return d < 1 ? 1 : d > 4e18 ? INT64_MAX / 2 : static_cast<int64_t>(d);
}

}  // namespace leaktrace::preload
