#include <cmath>
#include <ctime>

#include "reporter/render.h"

namespace leaktrace::reporter {

namespace {

// ordered_json: keys in the order written, "resource" before "frames".
using json = nlohmann::ordered_json;

// Exact figures are whole numbers: print them as JSON integers so scripts can
// compare with ==. Sampled estimates stay doubles.
json Number(double v, bool integral) {
  if (integral) return static_cast<int64_t>(std::llround(v));
  return v;
}

std::string IsoTime(int64_t realtime_ns) {
  time_t seconds = static_cast<time_t>(realtime_ns / 1000000000);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>((realtime_ns / 1000000) % 1000));
  return out;
}

json DumpJson(const DumpInfo& d, const char* role) {
  json j = {
      {"path", d.path},
      {"program", d.program},
      {"exe_path", d.exe_path},
      {"pid", d.pid},
      {"seq", d.seq},
      {"trigger", TriggerName(d.trigger)},
      {"time", IsoTime(d.snapshot_realtime_ns)},
      {"snapshot_realtime_ns", d.snapshot_realtime_ns},
      {"exact", d.exact},
      {"sample_interval", d.sample_interval},
  };
  if (role) j["role"] = role;
  json health = json::object();
  for (const auto& [name, value] : d.health) health[name] = value;
  j["health"] = std::move(health);
  if (d.memory.known) j["memory"] = MemoryJson(d.memory, d.exact);
  return j;
}

json FrameJson(const Frame& f) {
  json j = {{"function", DisplayName(f)}};
  if (!f.file.empty()) j["file"] = f.file;
  if (!f.file.empty() && f.line) j["line"] = f.line;
  if (!f.file.empty() && f.column) j["column"] = f.column;
  j["module"] = f.module;
  if (!f.build_id.empty()) j["build_id"] = f.build_id;
  j["offset"] = f.module_offset;
  j["inlined"] = f.inlined;
  return j;
}

bool Integral(const Report& report, Resource r) { return report.exact || r != Resource::kHeap; }

json SiteJson(const Report& report, const Site& s) {
  bool integral = Integral(report, s.resource);
  json j = {{"resource", format::ResourceName(s.resource)}};
  if (!s.label.empty()) j["label"] = s.label;
  json frames = json::array();
  for (const Frame& f : s.frames) frames.push_back(FrameJson(f));
  j["frames"] = std::move(frames);
  j["bytes"] = Number(s.bytes, integral);
  j["count"] = Number(s.count, integral);
  if (!integral) {
    j["stderr_bytes"] = std::sqrt(std::max(0.0, s.var_bytes));
    j["stderr_count"] = std::sqrt(std::max(0.0, s.var_count));
  }
  if (!integral && report.kind == ReportKind::kGrowth) j["significant"] = !NotSignificant(s.bytes, s.var_bytes);
  if (report.kind == ReportKind::kLive && s.resource == Resource::kHeap) {
    j["allocated_bytes"] = Number(s.alloc_bytes, integral);
    j["allocated_count"] = Number(s.alloc_count, integral);
  }
  if (s.truncated) j["truncated"] = true;
  if (s.folded) j["folded"] = true;
  if (s.oldest_age_s >= 0) j["oldest_age_s"] = s.oldest_age_s;
  return j;
}

}  // namespace

nlohmann::ordered_json ToJson(const Report& report, const RenderOptions& options) {
  json doc;
  bool growth = report.kind == ReportKind::kGrowth;
  doc["kind"] = growth ? "diff" : "report";
  doc["exact"] = report.exact;
  if (report.older_than_s > 0) doc["older_than_s"] = report.older_than_s;

  json dumps = json::array();
  for (const DumpInfo& d : report.baseline) dumps.push_back(DumpJson(d, "before"));
  for (const DumpInfo& d : report.dumps) dumps.push_back(DumpJson(d, growth ? "after" : nullptr));
  doc["dumps"] = std::move(dumps);

  TotalsByResource totals = ComputeTotals(report.sites);
  json summary = json::object();
  for (Resource r : {Resource::kHeap, Resource::kMmap, Resource::kFd, Resource::kThread}) {
    const Totals& t = totals[static_cast<size_t>(r)];
    bool integral = Integral(report, r);
    json entry = {{"bytes", Number(t.bytes, integral)}, {"count", Number(t.count, integral)}};
    if (!integral) {
      entry["stderr_bytes"] = std::sqrt(std::max(0.0, t.var_bytes));
      entry["stderr_count"] = std::sqrt(std::max(0.0, t.var_count));
    }
    summary[format::ResourceName(r)] = std::move(entry);
  }
  if (!growth) {
    // Cumulative heap allocations since the process(es) started; freed =
    // allocated - live.
    double bytes = 0, count = 0, live_bytes = 0, live_count = 0;
    for (const Site& s : report.sites)
      if (s.resource == Resource::kHeap) {
        bytes += s.alloc_bytes, count += s.alloc_count;
        live_bytes += s.bytes, live_count += s.count;
      }
    json allocated = {{"bytes", Number(bytes, report.exact)}, {"count", Number(count, report.exact)}};
    allocated["freed_bytes"] = Number(std::max(0.0, bytes - live_bytes), report.exact);
    allocated["freed_count"] = Number(std::max(0.0, count - live_count), report.exact);
    if (const double uptime = AllocationSeconds(report); uptime > 0) {
      allocated["seconds"] = uptime;
      allocated["bytes_per_second"] = bytes / uptime;
      allocated["count_per_second"] = count / uptime;
    }
    summary["allocated"] = std::move(allocated);
  }
  if (growth) {
    double seconds = IntervalSeconds(report);
    if (seconds >= 0) summary["interval_seconds"] = seconds;
  }
  doc["summary"] = std::move(summary);
  if (growth && !report.exact) doc["detection_limit_bytes"] = DetectionLimitBytes(report);
  doc["memory"] = MemoryJson(ReportMemory(report), report.exact);

  doc["total_sites"] = report.sites.size();
  json sites = json::array();
  for (const Site* s : SelectSites(report, options, nullptr)) sites.push_back(SiteJson(report, *s));
  doc["sites"] = std::move(sites);
  return doc;
}

std::string RenderJson(const Report& report, const RenderOptions& options) {
  // Symbol names and paths are not guaranteed UTF-8: replace, never throw.
  return ToJson(report, options).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace leaktrace::reporter

namespace leaktrace::reporter {

nlohmann::ordered_json CheckToJson(const CheckResult& result, const Report& diff, const Thresholds& thresholds,
                                   const RenderOptions& options) {
  json doc;
  doc["kind"] = "check";
  doc["passed"] = result.passed;
  doc["exact"] = diff.exact;
  if (diff.older_than_s > 0) doc["older_than_s"] = diff.older_than_s;
  json dumps = json::array();
  for (const DumpInfo& d : diff.baseline) dumps.push_back(DumpJson(d, "before"));
  for (const DumpInfo& d : diff.dumps) dumps.push_back(DumpJson(d, "after"));
  doc["dumps"] = std::move(dumps);

  json given = json::object();
  auto put = [&](const char* name, const std::optional<double>& v) {
    if (v) given[name] = static_cast<int64_t>(std::llround(*v));
  };
  put("max_bytes", thresholds.max_bytes);
  put("max_site_bytes", thresholds.max_site_bytes);
  put("max_fds", thresholds.max_fds);
  put("max_mmap_bytes", thresholds.max_mmap_bytes);
  put("max_threads", thresholds.max_threads);
  put("max_rss", thresholds.max_rss);
  put("max_unexplained", thresholds.max_unexplained);
  doc["thresholds"] = std::move(given);
  doc["violations"] = result.violations;

  json rules = json::array();
  for (const RuleResult& r : result.rules) {
    json j = {{"name", r.name}, {"summary", r.summary}};
    if (r.limit) j["limit"] = static_cast<int64_t>(std::llround(*r.limit));
    bool integral = r.stderr_value == 0 && std::floor(r.value) == r.value;
    j["value"] = Number(r.value, integral);
    if (r.stderr_value > 0) j["stderr"] = r.stderr_value;
    j["passed"] = r.passed;
    if (!r.passed) j["message"] = r.message;
    j["offending_sites"] = r.offending_keys.size();
    rules.push_back(std::move(j));
  }
  doc["rules"] = std::move(rules);
  doc["suppressed"] = result.suppressed;

  json summary = json::object();
  for (Resource r : {Resource::kHeap, Resource::kMmap, Resource::kFd, Resource::kThread}) {
    const Totals& t = result.totals[static_cast<size_t>(r)];
    bool integral = Integral(diff, r);
    json entry = {{"bytes", Number(t.bytes, integral)}, {"count", Number(t.count, integral)}};
    if (!integral) {
      entry["stderr_bytes"] = std::sqrt(std::max(0.0, t.var_bytes));
      entry["stderr_count"] = std::sqrt(std::max(0.0, t.var_count));
    }
    summary[format::ResourceName(r)] = std::move(entry);
  }
  double seconds = IntervalSeconds(diff);
  if (seconds >= 0) summary["interval_seconds"] = seconds;
  doc["summary"] = std::move(summary);
  if (!diff.exact) doc["detection_limit_bytes"] = DetectionLimitBytes(diff);
  doc["memory"] = MemoryJson(ReportMemory(diff), diff.exact);

  Report offending;
  offending.kind = diff.kind;
  offending.exact = diff.exact;
  offending.sites = result.offending;
  doc["total_sites"] = offending.sites.size();
  json sites = json::array();
  for (const Site* s : SelectSites(offending, options, nullptr)) sites.push_back(SiteJson(offending, *s));
  doc["sites"] = std::move(sites);
  return doc;
}

std::string RenderCheckJson(const CheckResult& result, const Report& diff, const Thresholds& thresholds,
                            const RenderOptions& options) {
  return CheckToJson(result, diff, thresholds, options).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace leaktrace::reporter
