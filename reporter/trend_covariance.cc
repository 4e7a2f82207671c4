#include "reporter/trend_covariance.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>

namespace leaktrace::reporter {

namespace {

uint64_t HealthValue(const format::Dump& dump, const std::string& name, uint64_t fallback) {
  for (const auto& [key, value] : dump.health)
    if (key == name) return value;
  return fallback;
}

double SampleVariance(const HeldSample& s) {
  const double size = static_cast<double>(s.size);
  return s.weight * (s.weight - 1) * size * size;
}

// The order samples are matched in: site, then the sample's own figures.
auto Identity(const SeriesSample& s) { return std::tie(s.site, s.sample.birth_ns, s.sample.size, s.sample.weight); }

}  // namespace

Births BirthsOf(const format::Dump& dump) {
  if (!dump.has_ages || dump.process.exact()) return Births::kUnknown;
  // In sampled mode every sampled block is aged: the ages are the very
  // samples behind the figures (docs/dump-format.md), drawn at the heap's
  // interval. A dump saying otherwise has ages of another kind.
  if (HealthValue(dump, "age_sample_interval", dump.process.sample_interval) != dump.process.sample_interval)
    return Births::kUnknown;
  return HealthValue(dump, "age_table_full", 0) > 0 ? Births::kPartial : Births::kComplete;
}

namespace {

bool SameModules(const std::vector<format::Module>& a, const std::vector<format::Module>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const format::Module& x = a[i];
    const format::Module& y = b[i];
    if (x.path != y.path || x.build_id != y.build_id || x.load_bias != y.load_bias || x.flags != y.flags ||
        x.segments.size() != y.segments.size())
      return false;
    for (size_t k = 0; k < x.segments.size(); ++k)
      if (x.segments[k].start != y.segments[k].start || x.segments[k].end != y.segments[k].end) return false;
  }
  return true;
}

uint64_t StackAndResource(const format::Site& s) {
  return (uint64_t{s.stack_id} << 8) | static_cast<uint64_t>(s.resource);
}

}  // namespace

uint32_t SiteKeys::Id(const std::string& key) {
  auto [it, inserted] = ids.emplace(key, static_cast<uint32_t>(names.size()));
  if (inserted) names.push_back(key);
  return it->second;
}

DumpSamples SamplesOf(const format::Dump& dump, const FrameSource& source, const StackOptions& stacks,
                      const Grouping& grouping, SiteKeyCache* cache) {
  DumpSamples out;
  out.births = BirthsOf(dump);
  SiteKeyCache own;
  if (cache == nullptr) cache = &own;
  out.keys = cache->keys;
  if (out.births == Births::kUnknown) return out;
  const size_t n = dump.sites.size();
  std::vector<bool> wanted(n, false);
  for (const format::Age& a : dump.ages)
    if (a.site < n && dump.sites[a.site].resource == format::Resource::kHeap && a.weight > 1) wanted[a.site] = true;

  if (!SameModules(cache->modules, dump.modules)) {
    cache->modules = dump.modules;
    cache->ids.clear();
  }
  // The key each wanted site gets in a report. FromDump adds up sites that
  // symbolize alike and keeps no trace of which dump site went where, so
  // each is given a label of its own (its index) that keeps it apart; the
  // key is then made from its real label, as FromDump and Regroup make it.
  std::vector<uint32_t> id_of(n, 0);
  format::Dump tagged = dump.WithoutSites();
  for (size_t i = 0; i < n; ++i) {
    if (!wanted[i]) continue;
    auto by_stack = cache->ids.find(StackAndResource(dump.sites[i]));
    if (by_stack != cache->ids.end()) {
      auto it = by_stack->second.find(dump.sites[i].label);
      if (it != by_stack->second.end()) {
        id_of[i] = it->second;
        continue;
      }
    }
    format::Site s = dump.sites[i];
    s.label = std::to_string(i);
    tagged.sites.push_back(std::move(s));
  }
  if (!tagged.sites.empty()) {
    for (Site& s : FromDump(tagged, source, stacks).sites) {
      const size_t i = std::stoul(s.label);
      s.label = dump.sites[i].label;
      s.key = SiteKey(s.resource, s.label, s.frames);
      std::vector<Site> one;
      one.push_back(std::move(s));
      id_of[i] = cache->keys->Id(Regroup(std::move(one), grouping).at(0).key);
      cache->ids[StackAndResource(dump.sites[i])].emplace(dump.sites[i].label, id_of[i]);
    }
  }
  std::vector<std::vector<HeldSample>> held(n);
  for (const format::Age& a : dump.ages)
    if (a.site < n && wanted[a.site]) held[a.site].push_back({a.birth_monotonic_ns, a.size, a.weight});
  for (size_t i = 0; i < n; ++i)
    if (!held[i].empty()) out.by_key.emplace_back(id_of[i], std::move(held[i]));  // sites may share a key
  return out;
}

bool SeriesSharing::bound() const {
  for (double u : unknown)
    if (u > 0) return true;
  return false;
}

void SeriesSharing::Add(const SeriesSharing& other) {
  held.insert(held.end(), other.held.begin(), other.held.end());
  if (recorded.size() < other.recorded.size()) recorded.resize(other.recorded.size(), 0);
  if (unknown.size() < other.unknown.size()) unknown.resize(other.unknown.size(), 0);
  for (size_t k = 0; k < other.recorded.size(); ++k) recorded[k] += other.recorded[k];
  for (size_t k = 0; k < other.unknown.size(); ++k) unknown[k] += other.unknown[k];
  if (held.size() > (size_t{1} << 20)) Compact();
}

void SeriesSharing::Compact() {
  std::sort(held.begin(), held.end(),
            [](const Held& a, const Held& b) { return std::tie(a.point, a.first) < std::tie(b.point, b.first); });
  size_t out = 0;
  for (size_t i = 0; i < held.size(); ++i) {
    if (out > 0 && held[out - 1].point == held[i].point && held[out - 1].first == held[i].first)
      held[out - 1].variance += held[i].variance;
    else
      held[out++] = held[i];
  }
  held.resize(out);
}

namespace {

constexpr size_t kUnknownFirst = SIZE_MAX;

}  // namespace

SeriesSharing ShareOf(std::vector<SeriesSample> samples, const std::vector<Births>& births,
                      const std::vector<double>& variances, const std::vector<int64_t>& snapshot_ns) {
  const size_t n = snapshot_ns.size();
  SeriesSharing out;
  out.recorded.assign(n, 0);
  out.unknown.assign(n, 0);
  std::sort(samples.begin(), samples.end(), [](const SeriesSample& a, const SeriesSample& b) {
    return std::tie(a.point, a.site, a.sample.birth_ns, a.sample.size, a.sample.weight) <
           std::tie(b.point, b.site, b.sample.birth_ns, b.sample.size, b.sample.weight);
  });
  // The first holder of each sample, parallel to `samples`.
  std::vector<size_t> first(samples.size(), 0);
  size_t prev_begin = 0, prev_end = 0;  // the previous snapshot's samples
  size_t begin = 0;
  for (size_t l = 0; l < n; ++l) {
    size_t end = begin;
    while (end < samples.size() && samples[end].point == l) ++end;
    if (births[l] == Births::kUnknown) {
      out.unknown[l] = variances[l];
    } else {
      size_t p = prev_begin;  // walks the previous snapshot's samples, in the same order
      for (size_t i = begin; i < end; ++i) {
        const SeriesSample& s = samples[i];
        const double var = SampleVariance(s.sample);
        out.recorded[l] += var;
        while (p < prev_end && Identity(samples[p]) < Identity(s)) ++p;
        if (p < prev_end && Identity(samples[p]) == Identity(s)) {
          first[i] = first[p++];  // the same sample: held since its first holder
        } else if (l == 0 || s.sample.birth_ns > snapshot_ns[l - 1]) {
          // New since the previous snapshot: its first holder is this one.
          // Only the first snapshot holds samples born before any.
          first[i] = l;
        } else if (births[l - 1] == Births::kUnknown) {
          // Born before the previous snapshot, which says nothing of its
          // samples: held by it or not is not known.
          first[i] = kUnknownFirst;
        } else {
          // Born before the previous snapshot but not held by it as it is
          // now: decided afresh since (a realloc), shared with none before.
          // So too where the previous dump misses records (kPartial): a
          // block the age table had no room for never gets one later.
          first[i] = l;
        }
        if (first[i] == kUnknownFirst) {
          out.unknown[l] += var;
          continue;
        }
        out.held.push_back({l, first[i], var});
      }
      // Sampled blocks without a record, as much as the estimate's variance
      // exceeds the records'.
      if (births[l] == Births::kPartial) out.unknown[l] += std::max(0.0, variances[l] - out.recorded[l]);
    }
    prev_begin = begin;
    prev_end = end;
    begin = end;
  }
  out.Compact();
  return out;
}

double CombinationVariance(const std::vector<double>& u, const std::vector<double>& v, const SeriesSharing* sharing) {
  const size_t n = u.size();
  // A snapshot's own variance is at least what it holds on record.
  std::vector<double> own(v);
  if (sharing)
    for (size_t k = 0; k < n && k < sharing->recorded.size(); ++k) own[k] = std::max(own[k], sharing->recorded[k]);
  double independent = 0, pos = 0, neg = 0;
  for (size_t k = 0; k < n; ++k) {
    independent += u[k] * u[k] * own[k];
    const double sd = std::sqrt(std::max(0.0, own[k]));
    (u[k] > 0 ? pos : neg) += std::fabs(u[k]) * sd;
  }
  if (sharing == nullptr) return independent;

  // prefix[j] = Σ_{k<j} u_k: an entry of l held since `first` adds
  // 2 variance u_l (prefix[l] - prefix[first]).
  std::vector<double> prefix(n + 1, 0);
  for (size_t k = 0; k < n; ++k) prefix[k + 1] = prefix[k] + u[k];
  double shared = 0;
  for (const SeriesSharing::Held& h : sharing->held) {
    if (h.point >= n || u[h.point] == 0) continue;
    shared += h.variance * u[h.point] * (prefix[h.point] - prefix[std::min(h.first, h.point)]);
  }
  // Unknown sharing: the first holder (0 to l) that adds the most.
  double lo = prefix[0], hi = prefix[0];
  for (size_t l = 0; l < n && l < sharing->unknown.size(); ++l) {
    lo = std::min(lo, prefix[l]);
    hi = std::max(hi, prefix[l]);
    if (sharing->unknown[l] <= 0 || u[l] == 0) continue;
    const double most = std::max({0.0, u[l] * (prefix[l] - lo), u[l] * (prefix[l] - hi)});
    shared += sharing->unknown[l] * most;
  }
  const double variance = independent + 2 * shared;
  return std::clamp(variance, 0.0, pos * pos + neg * neg);
}

double SteadyLeakSlopeVariance(const std::vector<double>& t, const std::vector<double>& u) {
  // y_k = y_0 + Σ_{0<m<=k} Δ_m with independent increments Δ_m of variance
  // T r (t_m - t_{m-1}): Σ u_k y_k = Σ_m Δ_m Σ_{k>=m} u_k, plus y_0 Σ u_k,
  // which a slope's weights make 0.
  double tail = 0, q = 0;
  for (size_t m = t.size(); m-- > 1;) {
    tail += u[m];
    q += (t[m] - t[m - 1]) * tail * tail;
  }
  return q;
}

}  // namespace leaktrace::reporter
