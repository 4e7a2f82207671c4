#include "reporter/render_trend.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "reporter/sizes.h"

namespace leaktrace::reporter {

namespace {

// Judged by count (fds, threads), not bytes.
bool IsFd(const TrendSite& s) { return CountedByNumber(s.site.resource); }

// fd and thread slopes read better per minute: descriptors and threads leak slowly.
double SlopeUnitFactor(Resource r) { return CountedByNumber(r) ? 60.0 : 1.0; }

std::string Value(Resource r, double v) { return CountedByNumber(r) ? FormatCount(v) : FormatBytes(v); }

// Site keys are unique within a trend.
class SiteIndex {
 public:
  explicit SiteIndex(const Trend& trend) {
    for (const TrendSite& s : trend.sites) by_key_.emplace(s.site.key, &s);
  }
  const TrendSite& operator[](const SiteKey& key) const { return *by_key_.at(key); }

 private:
  std::unordered_map<SiteKey, const TrendSite*> by_key_;
};

// Slope errors of sampled heap sites take in what the snapshots share, from
// the births of their samples; where a dump does not record them, the
// errors are the largest those births allow, and say so ("at most").
std::string BirthsText(const Trend& trend) {
  if (trend.births_unknown == 0 && trend.births_partial == 0) return "";
  std::vector<std::string> why;
  if (trend.births_unknown)
    why.push_back(fmt::format("{} of these snapshots {} not say when their samples were born (no ages section: an "
                              "older libleaktrace)",
                              trend.births_unknown, trend.births_unknown == 1 ? "does" : "do"));
  if (trend.births_partial)
    why.push_back(fmt::format("{} of them {} some samples' births (the age table was full: age_table_full)",
                              trend.births_partial, trend.births_partial == 1 ? "misses" : "miss"));
  return fmt::format("{}: slope errors that depend on them are upper bounds (\"± at most\"), and leaks are harder "
                     "to call\n",
                     fmt::join(why, "; "));
}

std::string Header(const Trend& trend) {
  const DumpInfo& first = trend.dumps.front();
  std::array<size_t, kVerdictCount> counts{};
  for (const TrendSite& s : trend.sites) ++counts[static_cast<size_t>(s.verdict)];
  std::string mode = trend.exact ? "exact" : fmt::format("heap sampled every {}",
                                                         FormatBytes(static_cast<double>(first.sample_interval)));
  std::string out = fmt::format("{} (pid {}), {}\n", first.program, first.pid, mode);
  out += fmt::format("trend over {} snapshots in {:.1f} s (seq {} -> {}): ", trend.dumps.size(),
                     trend.seconds.back(), first.seq, trend.dumps.back().seq);
  std::vector<std::string> parts;
  for (Verdict v : kAllVerdicts) parts.push_back(fmt::format("{} {}", counts[static_cast<size_t>(v)], VerdictName(v)));
  out += fmt::format("{}\n", fmt::join(parts, ", "));
  if (!trend.exit_left_out.path.empty())
    out += fmt::format("the exit snapshot (seq {}) is left out: taken after the program's own teardown, not while "
                       "it ran ('leaktrace diff' compares it with any snapshot)\n",
                       trend.exit_left_out.seq);
  double interval = 0;
  for (const DumpInfo& d : trend.dumps)
    if (!d.exact) interval = std::max(interval, static_cast<double>(d.sample_interval));
  out += DetectionLimitText(trend.detection_limit_bytes, trend.seconds.back(), interval,
                            fmt::format("a steady leak growing less over these {} snapshots", trend.dumps.size()));
  out += BirthsText(trend);
  return out;
}

// "▁▂▄▇" for a series (at most kSparkWidth marks: a longer series is shown
// by evenly spaced snapshots).
constexpr size_t kSparkWidth = 40;
std::string Sparkline(const std::vector<double>& values) {
  static const char* const kMarks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  if (values.empty()) return "";
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  const size_t n = std::min(values.size(), kSparkWidth);
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    const size_t k = n == 1 ? 0 : i * (values.size() - 1) / (n - 1);
    const double span = *hi - *lo;
    const size_t level = span > 0 ? static_cast<size_t>(std::lround(7 * (values[k] - *lo) / span)) : 0;
    out += kMarks[std::min<size_t>(level, 7)];
  }
  return out;
}

const char* MemoryPartTitle(const std::string& name) {
  if (name == "rss") return "RSS";
  if (name == "heap") return "live heap";
  if (name == "allocator_free") return "allocator free";
  return name.c_str();
}

// RSS and its parts over time: one line each, a sparkline between the first
// and the last value, and the verdict.
std::string MemorySeriesText(const Trend& trend) {
  if (trend.memory.empty()) return "";
  std::string out = "memory over the series:\n";
  for (const MemorySeries& m : trend.memory) {
    std::string slope = FormatSlope(Resource::kHeap, m.slope);
    out += fmt::format("  {:<15} {:>10} {} {:<10}  {} ({})\n", MemoryPartTitle(m.name), FormatBytes(m.values.front()),
                       Sparkline(m.values), FormatBytes(m.values.back()), VerdictName(m.verdict), slope);
  }
  const MemoryParts growth = ReportMemory(SeriesGrowth(trend));
  const std::string reading = MemoryReading(growth);
  if (!reading.empty()) out += reading + "\n";
  return out;
}

}  // namespace

std::string FormatSlope(Resource resource, double per_second) {
  double v = per_second * SlopeUnitFactor(resource);
  if (CountedByNumber(resource)) return fmt::format("{:+.1f}/min", v);
  // Slow leaks matter: keep a decimal below 100 B/s rather than round to 0.
  if (v != 0 && std::fabs(v) < 100) return fmt::format("{:+.1f} B/s", v);
  return FormatSignedBytes(v) + "/s";
}

Report SeriesGrowth(const Trend& trend) {
  Report r;
  r.kind = ReportKind::kGrowth;
  r.exact = trend.exact;
  r.series_snapshots = trend.dumps.size();
  r.series_detection_limit = trend.detection_limit_bytes;
  if (!trend.dumps.empty()) {
    r.baseline.push_back(trend.dumps.front());
    r.dumps.push_back(trend.dumps.back());
  }
  for (const TrendSite& s : trend.sites) r.sites.push_back(s.site);
  return r;
}

std::string RenderTrendText(const Trend& trend, const RenderOptions& options) {
  std::string out = Header(trend);
  out += MemorySeriesText(trend);
  const SiteIndex index(trend);
  Report shown = SeriesGrowth(trend);
  // Flat sites, and sampled ones whose estimate never moved, say nothing a
  // reader can act on; the header counts them, JSON lists them.
  size_t unmoved = 0;
  std::erase_if(shown.sites, [&](const Site& s) {
    const TrendSite& ts = index[s.key];
    if (ts.verdict == Verdict::kFlat) return true;
    const std::vector<double>& y = IsFd(ts) ? ts.counts : ts.bytes;
    if (ts.verdict != Verdict::kNotSignificant || std::adjacent_find(y.begin(), y.end(), std::not_equal_to<>()) != y.end())
      return false;
    ++unmoved;
    return true;
  });
  size_t hidden = 0;
  std::vector<const Site*> sites = SelectSites(shown, options, &hidden);
  if (sites.empty())
    out += trend.exact ? "\nno call site changed over the series\n"
                       : "\nnothing sampled changed over the series: growth below the detection limit is not "
                         "significant\n";
  size_t rank = 0;
  for (const Site* s : sites) {
    const TrendSite& ts = index[s->key];
    std::string text = RenderSiteText(shown, *s, ++rank, options);
    // The verdict goes right under the site's headline.
    size_t eol = text.find('\n');
    std::vector<std::string> series;
    for (size_t i = 0; i < ts.bytes.size(); ++i)
      series.push_back(Value(s->resource, IsFd(ts) ? ts.counts[i] : ts.bytes[i]));
    std::string slope = FormatSlope(s->resource, ts.slope);
    if (ts.slope_stderr > 0)
      slope += (ts.stderr_is_bound ? " ± at most " : " ± ") + FormatSlope(s->resource, ts.slope_stderr).substr(1);
    std::string line = fmt::format("    {}: {} over the series, {} recently; {}\n", VerdictName(ts.verdict), slope,
                                   FormatSlope(s->resource, ts.recent_slope), fmt::join(series, " -> "));
    text.insert(eol == std::string::npos ? text.size() : eol + 1, line);
    out += "\n" + text;
  }
  if (unmoved)
    out += fmt::format("\n{} sampled site{} whose estimate never moved not shown (not significant: any growth there "
                       "is below the detection limit)\n",
                       unmoved, unmoved == 1 ? "" : "s");
  if (hidden) out += fmt::format("\n{} more site{} not shown (see --top, --min-bytes)\n", hidden, hidden == 1 ? "" : "s");
  return out;
}

nlohmann::ordered_json TrendToJson(const Trend& trend, const RenderOptions& options) {
  Report growth = SeriesGrowth(trend);
  nlohmann::ordered_json doc = ToJson(growth, options);
  doc["kind"] = "trend";
  // A trend names every snapshot, not just the first and the last.
  nlohmann::ordered_json dumps = nlohmann::ordered_json::array();
  nlohmann::ordered_json seconds = nlohmann::ordered_json::array();
  for (size_t i = 0; i < trend.dumps.size(); ++i) {
    const DumpInfo& d = trend.dumps[i];
    dumps.push_back({{"path", d.path}, {"pid", d.pid}, {"seq", d.seq},
                     {"snapshot_monotonic_ns", d.snapshot_monotonic_ns},
                     {"snapshot_realtime_ns", d.snapshot_realtime_ns}});
    seconds.push_back(trend.seconds[i]);
  }
  doc["dumps"] = std::move(dumps);
  doc["seconds"] = std::move(seconds);
  doc["exit_snapshot_left_out"] =
      trend.exit_left_out.path.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(trend.exit_left_out.path);
  nlohmann::ordered_json verdicts = nlohmann::ordered_json::object();
  for (Verdict v : kAllVerdicts) verdicts[VerdictName(v)] = 0;
  for (const TrendSite& s : trend.sites) verdicts[VerdictName(s.verdict)] = verdicts[VerdictName(s.verdict)].get<int>() + 1;
  doc["verdicts"] = std::move(verdicts);
  // RSS and its parts per snapshot, each judged as a site is.
  nlohmann::ordered_json memory_series = nlohmann::ordered_json::object();
  for (const MemorySeries& m : trend.memory) {
    nlohmann::ordered_json series = nlohmann::ordered_json::array();
    for (double v : m.values) series.push_back(static_cast<int64_t>(std::llround(v)));
    memory_series[m.name] = {{"series", std::move(series)},
                             {"verdict", VerdictName(m.verdict)},
                             {"slope", m.slope},
                             {"slope_stderr", m.slope_stderr},
                             {"recent_slope", m.recent_slope},
                             {"recent_slope_stderr", m.recent_slope_stderr},
                             {"slope_unit", "bytes/s"}};
  }
  doc["memory_series"] = trend.memory.empty() ? nlohmann::ordered_json(nullptr) : std::move(memory_series);

  // ToJson kept the selected sites in order; walk the same selection.
  const SiteIndex index(trend);
  std::vector<const Site*> selected = SelectSites(growth, options, nullptr);
  auto& sites = doc["sites"];
  for (size_t i = 0; i < selected.size() && i < sites.size(); ++i) {
    const TrendSite& ts = index[selected[i]->key];
    const double f = SlopeUnitFactor(ts.site.resource);
    auto& j = sites[i];
    j["verdict"] = VerdictName(ts.verdict);
    j["slope"] = ts.slope * f;
    j["slope_stderr"] = ts.slope_stderr * f;
    j["recent_slope"] = ts.recent_slope * f;
    j["recent_slope_stderr"] = ts.recent_slope_stderr * f;
    j["slope_stderr_is_bound"] = ts.stderr_is_bound;
    j["slope_unit"] = IsFd(ts) ? "count/min" : "bytes/s";
    nlohmann::ordered_json series = nlohmann::ordered_json::array();
    for (size_t k = 0; k < ts.bytes.size(); ++k) series.push_back(IsFd(ts) ? ts.counts[k] : ts.bytes[k]);
    j["series"] = std::move(series);
  }
  return doc;
}

std::string RenderTrendJson(const Trend& trend, const RenderOptions& options) {
  return TrendToJson(trend, options).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace leaktrace::reporter
