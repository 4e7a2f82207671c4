#include "reporter/age_filter.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "format/dump_reader.h"

namespace leaktrace::reporter {

namespace {

double AgeSeconds(const format::Dump& dump, const format::Age& a) {
  return static_cast<double>(dump.process.snapshot_monotonic_ns - a.birth_monotonic_ns) / 1e9;
}

uint64_t HealthValue(const format::Dump& dump, const std::string& name, uint64_t fallback) {
  for (const auto& [key, value] : dump.health)
    if (key == name) return value;
  return fallback;
}

}  // namespace

std::optional<double> ParseDuration(std::string_view text) {
  const std::string s(text);
  if (s.empty() || s[0] == '-' || s[0] == '+' || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(value) || value < 0) return std::nullopt;
  const std::string unit(end);
  double scale;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "m") scale = 60;
  else if (unit == "h") scale = 3600;
  else if (unit == "d") scale = 86400;
  else return std::nullopt;
  // strtod also takes "inf", "nan" and hex floats; only plain decimals here.
  for (const char* p = s.c_str(); p != end; ++p)
    if (!std::isdigit(static_cast<unsigned char>(*p)) && *p != '.') return std::nullopt;
  return value * scale;
}

std::string FormatDuration(double seconds) {
  // Under a second in ms or us: "{:.3g} s" printed 8.67e-05 s.
  if (seconds < 0.001) return fmt::format("{:.0f} us", seconds * 1e6);
  if (seconds < 1) return fmt::format("{:.3g} ms", seconds * 1e3);
  if (seconds < 60) return fmt::format("{:.3g} s", seconds);
  if (seconds < 3600) return fmt::format("{:.1f} min", seconds / 60);
  if (seconds < 86400) return fmt::format("{:.1f} h", seconds / 3600);
  return fmt::format("{:.1f} d", seconds / 86400);
}

format::Dump KeepOlderThan(const format::Dump& dump, double seconds) {
  if (!dump.has_ages)
    throw format::DumpError(dump.path +
                            ": no ages section (written by a libleaktrace that did not record object ages); "
                            "--older-than needs dumps from a current library");
  if (seconds <= 0) return dump;

  struct Figures {
    double count = 0, bytes = 0, var_count = 0, var_bytes = 0;
    uint64_t samples = 0;
  };
  std::vector<Figures> figures(dump.sites.size());
  for (const format::Age& a : dump.ages) {
    if (AgeSeconds(dump, a) < seconds) continue;
    Figures& f = figures[a.site];
    const double w = a.weight, size = static_cast<double>(a.size);
    f.count += w;
    f.bytes += w * size;
    if (w > 1) {
      f.var_count += w * (w - 1);
      f.var_bytes += w * (w - 1) * size * size;
    }
    ++f.samples;
  }

  format::Dump out = dump.WithoutSites();
  out.has_ages = true;
  std::vector<uint32_t> new_index(dump.sites.size(), UINT32_MAX);
  for (size_t i = 0; i < dump.sites.size(); ++i) {
    const Figures& f = figures[i];
    if (f.samples == 0) continue;
    format::Site site = dump.sites[i];
    site.live_count = f.count;
    site.live_bytes = f.bytes;
    site.var_live_count = f.var_count;
    site.var_live_bytes = f.var_bytes;
    site.live_samples = f.samples;
    new_index[i] = static_cast<uint32_t>(out.sites.size());
    out.sites.push_back(std::move(site));
  }
  for (const format::Age& a : dump.ages) {
    if (new_index[a.site] == UINT32_MAX || AgeSeconds(dump, a) < seconds) continue;
    format::Age kept = a;
    kept.site = new_index[a.site];
    out.ages.push_back(kept);
  }
  if (out.process.exact()) {
    // Heap figures now come from the aged sample: estimates, not counts.
    out.process.flags &= ~format::kProcessExactMode;
    out.process.sample_interval = HealthValue(dump, "age_sample_interval", 1);
  }
  return out;
}

std::vector<double> OldestAges(const format::Dump& dump) {
  std::vector<double> oldest(dump.sites.size(), -1);
  for (const format::Age& a : dump.ages)
    if (a.site < oldest.size()) oldest[a.site] = std::max(oldest[a.site], std::max(0.0, AgeSeconds(dump, a)));
  return oldest;
}

}  // namespace leaktrace::reporter
