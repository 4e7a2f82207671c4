#include "reporter/diff.h"

#include <cmath>

namespace leaktrace::reporter {

namespace {
// Sampled estimates are sums of doubles; the same objects summed in another
// order may differ in the last bits. Anything this small is no growth.
constexpr double kEpsilon = 1e-6;

bool IsZero(double v) { return std::fabs(v) < kEpsilon; }
}  // namespace

Report Diff(const Report& before, const Report& after) {
  Report out;
  out.kind = ReportKind::kGrowth;
  out.baseline = before.dumps;
  out.dumps = after.dumps;
  out.exact = before.exact && after.exact;
  out.older_than_s = after.older_than_s;

  SiteKeyIndex<const Site*> old_sites;  // refers to before.sites[i].key
  old_sites.reserve(before.sites.size());
  for (const Site& s : before.sites) old_sites.emplace(s.key, &s);

  out.heap_growth_var = 0;
  auto keep = [&](Site s) {
    if (IsZero(s.bytes)) s.bytes = 0;
    if (IsZero(s.count)) s.count = 0;
    if (s.bytes == 0 && s.count == 0) return;
    if (s.resource == Resource::kHeap) out.heap_growth_var += s.var_bytes;
    out.sites.push_back(std::move(s));
  };

  for (const Site& a : after.sites) {
    const Site* b = nullptr;
    if (auto it = old_sites.find(a.key); it != old_sites.end()) {
      b = it->second;
      old_sites.erase(it);
    }
    // Most sites of a large dump did not change: copy only what keep() keeps.
    if (IsZero(a.bytes - (b ? b->bytes : 0)) && IsZero(a.count - (b ? b->count : 0))) continue;
    Site grown = a;
    if (b) {
      grown.bytes -= b->bytes;
      grown.count -= b->count;
      grown.var_bytes += b->var_bytes;
      grown.var_count += b->var_count;
      grown.truncated = grown.truncated || b->truncated;
      grown.folded = grown.folded || b->folded;
    }
    keep(std::move(grown));
  }
  // What is gone entirely shrank by all it had. Walk before.sites (not the
  // map) so the output order does not depend on hashing.
  for (const Site& b : before.sites) {
    if (!old_sites.count(b.key)) continue;
    Site gone = b;
    gone.bytes = -b.bytes;
    gone.count = -b.count;
    gone.oldest_age_s = -1;  // nothing of it is live in AFTER
    keep(std::move(gone));
  }
  SortSites(out.sites);
  return out;
}

}  // namespace leaktrace::reporter
