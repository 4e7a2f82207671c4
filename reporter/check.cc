#include "reporter/check.h"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "reporter/sizes.h"

namespace leaktrace::reporter {

bool Exceeds(double growth, double variance, double limit) {
  double noise = variance > 0 ? kNoiseSigmas * std::sqrt(variance) : 0;
  return growth > limit + noise + 1e-6;
}

namespace {

size_t Index(Resource r) { return static_cast<size_t>(r); }

}  // namespace

CheckResult Check(const Report& diff, const Thresholds& t, const Suppressions& suppressions) {
  CheckResult result;
  std::vector<Site> kept;
  for (const Site& s : diff.sites) {
    if (suppressions.Matches(s)) {
      ++result.suppressed;
      continue;
    }
    kept.push_back(s);
  }
  result.totals = ComputeTotals(kept);
  const Totals& heap = result.totals[Index(Resource::kHeap)];
  const Totals& mmap = result.totals[Index(Resource::kMmap)];
  const Totals& fd = result.totals[Index(Resource::kFd)];

  std::set<std::string> offending_keys;
  auto offend = [&](const Site& s) {
    if (offending_keys.insert(s.key).second) result.offending.push_back(s);
  };
  // The sites behind a failed total: those that grew (beyond noise if any do).
  auto offend_growing = [&](Resource r, bool by_count) {
    size_t before = result.offending.size();
    for (const Site& s : kept)
      if (s.resource == r && (by_count ? Exceeds(s.count, s.var_count, 0) : Exceeds(s.bytes, s.var_bytes, 0)))
        offend(s);
    if (result.offending.size() == before)
      for (const Site& s : kept)
        if (s.resource == r && (by_count ? s.count > 0 : s.bytes > 0)) offend(s);
  };

  if (!t.any()) {
    if (Exceeds(heap.bytes, heap.var_bytes, 0)) {
      result.violations.push_back(fmt::format("heap grew by {}{}", FormatSignedBytes(heap.bytes),
                                              heap.var_bytes > 0 ? " (more than sampling noise)" : ""));
      offend_growing(Resource::kHeap, false);
    } else {
      // A leak can hide in the total behind something that shrank.
      size_t before = result.offending.size();
      for (const Site& s : kept)
        if (s.resource == Resource::kHeap && Exceeds(s.bytes, s.var_bytes, 0)) offend(s);
      if (result.offending.size() > before)
        result.violations.push_back(fmt::format("{} heap call site(s) grew by more than sampling noise",
                                                result.offending.size() - before));
    }
    if (Exceeds(mmap.bytes, 0, 0)) {
      result.violations.push_back(fmt::format("mappings grew by {}", FormatSignedBytes(mmap.bytes)));
      offend_growing(Resource::kMmap, false);
    }
    if (Exceeds(fd.count, 0, 0)) {
      result.violations.push_back(fmt::format("open file descriptors grew by {}", FormatSignedCount(fd.count)));
      offend_growing(Resource::kFd, true);
    }
  } else {
    if (t.max_bytes && Exceeds(heap.bytes, heap.var_bytes, *t.max_bytes)) {
      result.violations.push_back(fmt::format("heap grew by {}, more than --max-bytes {}",
                                              FormatSignedBytes(heap.bytes), FormatBytes(*t.max_bytes)));
      offend_growing(Resource::kHeap, false);
    }
    if (t.max_site_bytes) {
      size_t n = 0;
      for (const Site& s : kept)
        if (s.resource == Resource::kHeap && Exceeds(s.bytes, s.var_bytes, *t.max_site_bytes)) {
          offend(s);
          ++n;
        }
      if (n)
        result.violations.push_back(fmt::format("{} call site(s) grew by more than --max-site-bytes {}", n,
                                                FormatBytes(*t.max_site_bytes)));
    }
    if (t.max_mmap_bytes && Exceeds(mmap.bytes, 0, *t.max_mmap_bytes)) {
      result.violations.push_back(fmt::format("mappings grew by {}, more than --max-mmap-bytes {}",
                                              FormatSignedBytes(mmap.bytes), FormatBytes(*t.max_mmap_bytes)));
      offend_growing(Resource::kMmap, false);
    }
    if (t.max_fds && Exceeds(fd.count, 0, *t.max_fds)) {
      result.violations.push_back(fmt::format("open file descriptors grew by {}, more than --max-fds {}",
                                              FormatSignedCount(fd.count), FormatCount(*t.max_fds)));
      offend_growing(Resource::kFd, true);
    }
  }
  result.passed = result.violations.empty();
  SortSites(result.offending);
  return result;
}

}  // namespace leaktrace::reporter
