#include "reporter/trend.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "reporter/check.h"

namespace leaktrace::reporter {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kLeak: return "leak";
    case Verdict::kWarmUp: return "warm-up";
    case Verdict::kBounded: return "bounded";
    case Verdict::kShrinking: return "shrinking";
    case Verdict::kNotSignificant: return "not significant";
    case Verdict::kFlat: return "flat";
  }
  return "unknown";
}

namespace {

// Sums of doubles in another order differ in the last bits; below this a
// figure is no change (the same tolerance as check's Exceeds).
constexpr double kTiny = 1e-6;

bool SignificantlyPositive(double x, double variance) { return Exceeds(x, variance, 0); }

// The variance of Σ u_k y_k over the judged points (CombinationVariance).
using VarianceOf = std::function<double(const std::vector<double>& u)>;

// The least-squares weights of points first..n-1 (0 before): slope b = Σ w_i y_i.
std::vector<double> SlopeWeights(const std::vector<double>& t, size_t first) {
  const size_t n = t.size() - first;
  double tbar = 0;
  for (size_t i = first; i < t.size(); ++i) tbar += t[i];
  tbar /= static_cast<double>(n);
  double sxx = 0;
  for (size_t i = first; i < t.size(); ++i) sxx += (t[i] - tbar) * (t[i] - tbar);
  std::vector<double> w(t.size(), 0);
  if (sxx > 0)
    for (size_t i = first; i < t.size(); ++i) w[i] = (t[i] - tbar) / sxx;
  return w;
}

// Least squares over points first..n-1; slope of y - y_first so a constant
// series gives exactly 0.
void Fit(const std::vector<double>& t, const std::vector<double>& y, const VarianceOf& variance_of, size_t first,
         double* slope, double* stderr_slope) {
  const std::vector<double> w = SlopeWeights(t, first);
  double b = 0;
  for (size_t i = first; i < t.size(); ++i) b += w[i] * (y[i] - y[first]);
  *slope = b;
  *stderr_slope = std::sqrt(variance_of(w));
}

bool Differ(double a, double va, double b, double vb) { return Exceeds(std::fabs(a - b), va + vb, 0); }

// A snapshot taken much closer to the next one than snapshots usually are
// (an interval snapshot and the exit snapshot 40 ms later) adds no time to
// fit a slope over, but it counts as a point: the recent half of the series
// then spans one interval instead of two and its slope's error doubles (a
// 20 MiB/s leak was judged "not significant" 4 runs in 6, and the detection
// limit read 1 GiB). The series is judged without such points: of snapshots
// closer than a quarter of the median spacing, only the last is kept.
constexpr double kCloseFraction = 0.25;

std::vector<size_t> SpacedPoints(const std::vector<double>& t) {
  const size_t n = t.size();
  std::vector<size_t> kept;
  if (n < 3) {
    for (size_t i = 0; i < n; ++i) kept.push_back(i);
    return kept;
  }
  std::vector<double> gaps;
  for (size_t i = 1; i < n; ++i) gaps.push_back(t[i] - t[i - 1]);
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
  const double close = kCloseFraction * gaps[gaps.size() / 2];
  for (size_t i = 0; i + 1 < n; ++i)
    if (t[i + 1] - t[i] >= close) kept.push_back(i);
  kept.push_back(n - 1);
  return kept;
}

std::vector<double> Pick(const std::vector<double>& x, const std::vector<size_t>& at) {
  if (x.empty()) return x;
  std::vector<double> out;
  for (size_t i : at) out.push_back(x[i]);
  return out;
}

}  // namespace

std::optional<std::string> SeriesProblem(const std::vector<DumpInfo>& dumps) {
  if (dumps.size() < 3)
    return fmt::format("trend needs three or more snapshots of one process, got {}", dumps.size());
  return NotOneProcess(dumps, "trend");
}

namespace {

// Whether y[n-1] - y[j] is significantly positive when the two estimates
// share `shared` of their variance (-1: nothing known, never).
bool GrewBeyondSharedNoise(const std::vector<double>& y, const std::vector<double>& v, size_t j, double shared) {
  if (shared < 0) return false;
  const size_t l = y.size() - 1;
  const double own = std::max(0.0, v[l] + v[j] - 2 * std::min(shared, std::min(v[l], v[j])));
  return SignificantlyPositive(y[l] - y[j], own);
}

Verdict JudgeSpaced(const std::vector<double>& t, const std::vector<double>& y, const std::vector<double>& v,
                    const std::vector<double>& a, const VarianceOf& variance_of, double* slope_out, double* stderr_out,
                    double* recent_out, double* recent_stderr_out, double shared_first, double shared_recent) {
  const size_t n = y.size();
  const size_t h = (n - 1) / 2;
  double b = 0, se = 0, br = 0, ser = 0;
  Fit(t, y, variance_of, 0, &b, &se);
  Fit(t, y, variance_of, h, &br, &ser);
  if (slope_out) *slope_out = b;
  if (stderr_out) *stderr_out = se;
  if (recent_out) *recent_out = br;
  if (recent_stderr_out) *recent_stderr_out = ser;

  const double last = y[n - 1], vlast = v[n - 1];
  bool last_is_max = true;
  for (size_t i = 0; i < n; ++i)
    if (SignificantlyPositive(y[i] - last, v[i] + vlast)) last_is_max = false;
  const bool by_slopes = SignificantlyPositive(b, se * se) && SignificantlyPositive(br, ser * ser) && br >= b / 2;
  // The same three claims by the growths to the last point, each judged by
  // what the two estimates do not share; the recent rate against the whole
  // series' rate by the same growths (the slopes' own noise is what the
  // shared samples take away).
  const double whole_span = t[n - 1] - t[0], recent_span = t[n - 1] - t[h];
  const bool by_shared_samples = GrewBeyondSharedNoise(y, v, 0, shared_first) &&
                                 GrewBeyondSharedNoise(y, v, h, shared_recent) && recent_span > 0 &&
                                 (y[n - 1] - y[h]) / recent_span >= (y[n - 1] - y[0]) / whole_span / 2;
  if ((by_slopes || by_shared_samples) && last_is_max) return Verdict::kLeak;
  if (SignificantlyPositive(-b, se * se) && SignificantlyPositive(y[0] - last, v[0] + vlast))
    return Verdict::kShrinking;
  bool changed = false;
  for (size_t i = 1; i < n; ++i) changed = changed || Differ(y[i], v[i], y[0], v[0]);
  if (!changed) {
    // "flat" is a claim only exact figures can make. A sampled figure that
    // never moved says no more than that growth stayed below what the
    // sampling sees (a 3 MiB leak at 512 KiB sampling may take no sample
    // after the first snapshot): not significant, never "flat".
    bool sampled = false;
    for (size_t i = 0; i < n; ++i) sampled = sampled || v[i] > 0;
    for (size_t i = 1; i < n; ++i) sampled = sampled || std::fabs(y[i] - y[0]) > kTiny;
    return sampled ? Verdict::kNotSignificant : Verdict::kFlat;
  }
  bool recent_flat = true;
  for (size_t i = h; i < n; ++i) recent_flat = recent_flat && !Differ(y[i], v[i], last, vlast);
  const bool stopped = a.size() != n || a[n - 1] - a[h] <= kTiny;
  // Without allocation figures (the memory series), nothing says the growth
  // stopped but the slope: warm-up only when the recent one is clearly
  // below the overall one. A sampled heap rising steadily, its recent half
  // within its noise, read "warm-up" while its one site read "leak".
  const bool slowed = a.size() == n || SignificantlyPositive(b - br, se * se + ser * ser);
  if (SignificantlyPositive(last - y[0], vlast + v[0]) && recent_flat && stopped && slowed) return Verdict::kWarmUp;
  // "Bounded" says the growth stopped while allocations go on. When the
  // series grew and its recent slope is not significantly below the overall
  // one, sampled data cannot tell a bound from a leak: say so, never
  // "bounded" (a steady leak read 1.5 -> 10 MiB at 512 KiB sampling, recent
  // slope 2.9 standard errors, was called bounded).
  if (SignificantlyPositive(b, se * se) && !SignificantlyPositive(b - br, se * se + ser * ser))
    return Verdict::kNotSignificant;
  return Verdict::kBounded;
}

double DetectionLimitSpaced(const std::vector<double>& t, double sample_interval, bool births_known) {
  const size_t n = t.size();
  if (sample_interval <= 0 || n < 2) return 0;
  // A steady leak from nothing, y_i = r (t_i - t_0), of small blocks: each
  // estimate has variance T r (t_i - t_0). Its slope's variance is T r S,
  // S per unit of T r over the whole series or the recent part, and both
  // are significant when r > 9 T S: growth over the series above 9 T S span.
  const double span = t[n - 1] - t[0];
  const size_t h = (n - 1) / 2;
  const std::vector<double> whole = SlopeWeights(t, 0), recent = SlopeWeights(t, h);
  double s = 0;
  if (births_known) {
    // The leak keeps every sample: Cov(y_i, y_j) = T r (min(t_i, t_j) - t_0).
    s = std::max(SteadyLeakSlopeVariance(t, whole), SteadyLeakSlopeVariance(t, recent));
  } else {
    // Births unknown: the slope's error is the bound CombinationVariance
    // states for unknown sharing.
    std::vector<double> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = t[i] - t[0];
    SeriesSharing unknown;
    unknown.recorded.assign(n, 0);
    unknown.unknown = v;
    s = std::max(CombinationVariance(whole, v, &unknown), CombinationVariance(recent, v, &unknown));
  }
  const double by_slopes = kNoiseSigmas * kNoiseSigmas * sample_interval * s * span;
  if (!births_known) return by_slopes;
  // Judged by what the estimates do not share (GrewBeyondSharedNoise): a
  // steady leak from nothing keeps every sample, so the growth since the
  // recent part's first point, R, has variance T R, significant when
  // R > 9 T; the series' growth is then R span / (t_l - t_h).
  const double recent_span = t[n - 1] - t[h];
  if (recent_span <= 0) return by_slopes;
  return std::min(by_slopes, kNoiseSigmas * kNoiseSigmas * sample_interval * span / recent_span);
}

}  // namespace

Verdict Judge(const std::vector<double>& t, const std::vector<double>& y, const std::vector<double>& v,
              const std::vector<double>& a, double* slope_out, double* stderr_out, double* recent_out,
              double* recent_stderr_out, double shared_first, double shared_recent, const SeriesSharing* sharing) {
  const std::vector<size_t> at = SpacedPoints(t);
  // Weights over the judged points are weights over the whole series with
  // 0 at the points left out: the sharing is the whole series'.
  const VarianceOf variance_of = [&](const std::vector<double>& u_at) {
    std::vector<double> u(t.size(), 0);
    for (size_t i = 0; i < at.size(); ++i) u[at[i]] = u_at[i];
    return CombinationVariance(u, v, sharing);
  };
  return JudgeSpaced(Pick(t, at), Pick(y, at), Pick(v, at), a.size() == t.size() ? Pick(a, at) : std::vector<double>{},
                     variance_of, slope_out, stderr_out, recent_out, recent_stderr_out, shared_first, shared_recent);
}

JudgedPoints JudgedPointsOf(const std::vector<double>& t) {
  const std::vector<size_t> at = SpacedPoints(t);
  JudgedPoints p;
  if (at.empty()) return p;
  p.first = at.front();
  p.recent = at[(at.size() - 1) / 2];
  return p;
}

double TrendDetectionLimit(const std::vector<double>& t, double sample_interval, bool births_known) {
  return DetectionLimitSpaced(Pick(t, SpacedPoints(t)), sample_interval, births_known);
}

Report AllocatedReport(const format::Dump& dump, const FrameSource& source, const StackOptions& options,
                       const ProgressFn& progress) {
  format::Dump copy = dump;
  for (format::Site& s : copy.sites) {
    s.live_bytes = s.alloc_bytes;
    s.live_count = s.alloc_count;
    s.var_live_bytes = 0;
    s.var_live_count = 0;
  }
  return FromDump(copy, source, options, progress);
}

namespace {

// A heap figure of sampled dumps is never "flat", not even one with no
// sample in any dump (a heap of 0 B all along: growth below what the
// sampling sees took no sample): "not significant", as the contract has it.
Verdict SampledHeapVerdict(Verdict v, bool sampled_heap) {
  return sampled_heap && v == Verdict::kFlat ? Verdict::kNotSignificant : v;
}

// `heap_sharing`: what the live heap's estimates share (nullptr for exact series).
void JudgeMemory(Trend& trend, const SeriesSharing* heap_sharing) {
  for (const DumpInfo& d : trend.dumps)
    if (!d.memory.known) return;
  // One allocator view for the whole series: without it where some dump lacks it.
  std::vector<MemoryParts> parts_per_dump;
  bool all_allocator = true;
  for (const DumpInfo& d : trend.dumps) {
    parts_per_dump.push_back(d.memory);
    all_allocator = all_allocator && !d.memory.allocator.empty();
  }
  if (!all_allocator)
    for (MemoryParts& m : parts_per_dump) m = WithoutAllocator(m);
  struct Part {
    const char* name;
    double MemoryParts::*figure;
  };
  for (const Part& part : {Part{"rss", &MemoryParts::rss}, Part{"heap", &MemoryParts::heap},
                           Part{"allocator_free", &MemoryParts::allocator_free},
                           Part{"unexplained", &MemoryParts::unexplained}}) {
    MemorySeries& m = trend.memory.emplace_back();
    m.name = part.name;
    for (const MemoryParts& dm : parts_per_dump) {
      const double v = dm.*part.figure;
      m.values.push_back(v);
      const double noise = std::max(kMemoryNoiseBytes, 0.01 * std::fabs(v)) / kNoiseSigmas;
      m.variances.push_back(part.figure == &MemoryParts::heap ? dm.heap_var : noise * noise);
    }
    // Allocations unknown: a series that rose and then stayed is warm-up.
    const bool heap = part.figure == &MemoryParts::heap;
    m.verdict = SampledHeapVerdict(Judge(trend.seconds, m.values, m.variances, {}, &m.slope, &m.slope_stderr,
                                         &m.recent_slope, &m.recent_slope_stderr, -1, -1,
                                         heap ? heap_sharing : nullptr),
                                   !trend.exact && heap);
  }
}

}  // namespace

Trend ComputeTrend(const std::vector<Report>& live, const std::vector<Report>& allocated,
                   std::vector<DumpSamples> samples) {
  // Time order; live[i] and allocated[i] belong together.
  std::vector<size_t> order(live.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return live[x].dumps.at(0).snapshot_monotonic_ns < live[y].dumps.at(0).snapshot_monotonic_ns;
  });
  Trend trend;
  const size_t n = live.size();
  for (size_t i : order) {
    trend.dumps.push_back(live[i].dumps.at(0));
    trend.exact = trend.exact && live[i].exact;
  }
  for (const DumpInfo& d : trend.dumps)
    trend.seconds.push_back(static_cast<double>(d.snapshot_monotonic_ns - trend.dumps[0].snapshot_monotonic_ns) / 1e9);
  // What each snapshot says of its samples' births, in time order.
  std::vector<Births> births(n, Births::kUnknown);
  std::vector<int64_t> snapshot_ns;
  for (size_t k = 0; k < n; ++k) {
    if (samples.size() == n) births[k] = samples[order[k]].births;
    snapshot_ns.push_back(trend.dumps[k].snapshot_monotonic_ns);
  }
  if (!trend.exact) {
    double interval = 0;
    bool births_known = true;
    for (size_t k = 0; k < n; ++k) {
      const DumpInfo& d = trend.dumps[k];
      if (d.exact) continue;
      interval = std::max(interval, static_cast<double>(d.sample_interval));
      births_known = births_known && births[k] != Births::kUnknown;
      trend.births_unknown += births[k] == Births::kUnknown;
      trend.births_partial += births[k] == Births::kPartial;
    }
    trend.detection_limit_bytes = TrendDetectionLimit(trend.seconds, interval, births_known);
  }

  // Every key seen in any snapshot, in first-seen order.
  std::unordered_map<std::string, size_t> index;
  for (size_t k = 0; k < n; ++k) {
    for (const Site& s : live[order[k]].sites) {
      auto [it, inserted] = index.emplace(s.key, trend.sites.size());
      if (inserted) {
        TrendSite& ts = trend.sites.emplace_back();
        ts.site = s;
        ts.site.oldest_age_s = -1;
        ts.bytes.assign(n, 0);
        ts.counts.assign(n, 0);
        ts.var_bytes.assign(n, 0);
        ts.allocated.assign(n, 0);
      }
      TrendSite& ts = trend.sites[it->second];
      ts.bytes[k] = s.bytes;
      ts.counts[k] = s.count;
      ts.var_bytes[k] = s.var_bytes;
      // As in a diff: the age at the last snapshot (below, -1 if gone by then).
      if (k == n - 1) ts.site.oldest_age_s = s.oldest_age_s;
      ts.site.truncated = ts.site.truncated || s.truncated;
      ts.site.folded = ts.site.folded || s.folded;
    }
    if (allocated.size() == n)
      for (const Site& s : allocated[order[k]].sites) {
        auto it = index.find(s.key);
        if (it != index.end())
          trend.sites[it->second].allocated[k] = CountedByNumber(s.resource) ? s.count : s.bytes;
      }
  }
  // A site missing from a later dump was freed entirely; its cumulative
  // allocations cannot have gone down, so carry them forward.
  for (TrendSite& ts : trend.sites)
    for (size_t k = 1; k < n; ++k) ts.allocated[k] = std::max(ts.allocated[k], ts.allocated[k - 1]);

  // Each sampled heap site's samples per snapshot (trend_covariance.h).
  std::vector<std::vector<SeriesSample>> site_samples(trend.sites.size());
  if (!trend.exact && samples.size() == n) {
    // Key id -> site, per key table (SamplesOf gives one to a series).
    constexpr size_t kNotYet = SIZE_MAX, kNone = SIZE_MAX - 1;
    std::unordered_map<const SiteKeys*, std::vector<size_t>> site_of;
    for (size_t k = 0; k < n; ++k) {
      DumpSamples& d = samples[order[k]];
      if (d.keys == nullptr) continue;
      std::vector<size_t>& sites = site_of[d.keys.get()];
      for (const auto& [id, held] : d.by_key) {
        if (id >= sites.size()) sites.resize(d.keys->names.size(), kNotYet);
        if (sites[id] == kNotYet) {
          auto it = index.find(d.keys->names[id]);
          const bool heap = it != index.end() && trend.sites[it->second].site.resource == format::Resource::kHeap;
          sites[id] = heap ? it->second : kNone;
        }
        if (sites[id] == kNone) continue;
        for (const HeldSample& h : held)
          site_samples[sites[id]].push_back({static_cast<uint32_t>(k), static_cast<uint32_t>(sites[id]), h});
      }
      d.by_key = {};  // distributed: what the series holds at once is one copy
    }
  }
  // The live heap's, all sites' added up (the memory series).
  SeriesSharing heap_sharing;
  heap_sharing.recorded.assign(n, 0);
  heap_sharing.unknown.assign(n, 0);
  const JudgedPoints points = JudgedPointsOf(trend.seconds);
  for (size_t i = 0; i < trend.sites.size(); ++i) {
    TrendSite& ts = trend.sites[i];
    const bool fd = CountedByNumber(ts.site.resource);
    const bool sampled_heap = !trend.exact && ts.site.resource == format::Resource::kHeap;
    // fd, thread and mmap figures are exact; only heap bytes carry a variance
    // that matters here (count variances are not used for fds and threads).
    const std::vector<double> zero(n, 0);
    std::optional<SeriesSharing> sharing;
    if (sampled_heap) {
      sharing = ShareOf(std::move(site_samples[i]), births, ts.var_bytes, snapshot_ns);
      std::vector<SeriesSample>().swap(site_samples[i]);
      // What the last estimate shares with the judged first point's and the
      // recent part's first (the leak rule's growths): its samples held
      // since then.
      if (births[n - 1] != Births::kUnknown) {
        ts.shared_var_first = ts.shared_var_recent = 0;
        for (const SeriesSharing::Held& h : sharing->held) {
          if (h.point != n - 1) continue;
          if (h.first <= points.first) ts.shared_var_first += h.variance;
          if (h.first <= points.recent) ts.shared_var_recent += h.variance;
        }
      }
      ts.stderr_is_bound = sharing->bound();
      heap_sharing.Add(*sharing);
    }
    ts.verdict = SampledHeapVerdict(
        Judge(trend.seconds, fd ? ts.counts : ts.bytes, fd ? zero : ts.var_bytes,
              allocated.size() == n ? ts.allocated : std::vector<double>{}, &ts.slope, &ts.slope_stderr,
              &ts.recent_slope, &ts.recent_slope_stderr, ts.shared_var_first, ts.shared_var_recent,
              sharing ? &*sharing : nullptr),
        sampled_heap);
    Site& s = ts.site;
    s.bytes = ts.bytes[n - 1] - ts.bytes[0];
    s.count = ts.counts[n - 1] - ts.counts[0];
    // The growth's variance: both estimates' less twice what they share.
    std::vector<double> growth(n, 0);
    growth[n - 1] += 1;
    growth[0] -= 1;
    s.var_bytes = CombinationVariance(growth, ts.var_bytes, sharing ? &*sharing : nullptr);
    s.var_count = 0;
  }
  std::stable_sort(trend.sites.begin(), trend.sites.end(), [](const TrendSite& x, const TrendSite& y) {
    if (x.verdict != y.verdict) return x.verdict < y.verdict;
    bool fx = CountedByNumber(x.site.resource), fy = CountedByNumber(y.site.resource);
    if (fx != fy) return fy;
    double gx = fx ? x.site.count : x.site.bytes, gy = fy ? y.site.count : y.site.bytes;
    if (std::fabs(gx) != std::fabs(gy)) return std::fabs(gx) > std::fabs(gy);
    return x.site.key < y.site.key;
  });
  heap_sharing.Compact();
  JudgeMemory(trend, trend.exact ? nullptr : &heap_sharing);
  return trend;
}

Report LeakGrowth(const Trend& trend) {
  Report r;
  r.kind = ReportKind::kGrowth;
  r.exact = trend.exact;
  r.series_snapshots = trend.dumps.size();
  r.series_detection_limit = trend.detection_limit_bytes;
  if (!trend.dumps.empty()) {
    r.baseline.push_back(trend.dumps.front());
    r.dumps.push_back(trend.dumps.back());
  }
  for (const TrendSite& ts : trend.sites)
    if (ts.verdict == Verdict::kLeak) r.sites.push_back(ts.site);
  SortSites(r.sites);
  return r;
}

}  // namespace leaktrace::reporter
