#include "reporter/merge.h"

#include <algorithm>

namespace leaktrace::reporter {

std::vector<Site> CombineSites(std::vector<Site> sites) {
  std::vector<Site> out;
  out.reserve(sites.size());
  SiteKeyIndex<size_t> index;  // refers to out[i].key
  index.reserve(sites.size());
  for (Site& s : sites) {
    auto it = index.find(s.key);
    if (it == index.end()) {
      out.push_back(std::move(s));
      index.emplace(out.back().key, out.size() - 1);  // reserve() keeps the references valid
      continue;
    }
    Site& into = out[it->second];
    into.bytes += s.bytes;
    into.count += s.count;
    into.var_bytes += s.var_bytes;
    into.var_count += s.var_count;
    into.truncated = into.truncated || s.truncated;
    into.folded = into.folded || s.folded;
    into.oldest_age_s = std::max(into.oldest_age_s, s.oldest_age_s);
    into.alloc_bytes += s.alloc_bytes;
    into.alloc_count += s.alloc_count;
  }
  SortSites(out);
  return out;
}

Report Merge(std::vector<Report> reports) {
  Report merged;
  merged.kind = ReportKind::kLive;
  std::vector<Site> all;
  for (Report& r : reports) {
    merged.exact = merged.exact && r.exact;
    for (DumpInfo& d : r.dumps) merged.dumps.push_back(std::move(d));
    for (Site& s : r.sites) all.push_back(std::move(s));
  }
  merged.sites = CombineSites(std::move(all));
  return merged;
}

}  // namespace leaktrace::reporter
