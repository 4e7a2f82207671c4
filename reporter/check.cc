#include "reporter/check.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "reporter/render.h"
#include "reporter/sizes.h"

namespace leaktrace::reporter {

bool Exceeds(double growth, double variance, double limit) {
  double noise = variance > 0 ? kNoiseSigmas * std::sqrt(variance) : 0;
  return growth > limit + noise + 1e-6;
}

double SampleInterval(const Report& report) {
  double t = 0;
  for (const auto* list : {&report.dumps, &report.baseline})
    for (const DumpInfo& d : *list)
      if (!d.exact) t = std::max(t, static_cast<double>(d.sample_interval));
  return t;
}

double DetectionLimitBytes(const Report& report) {
  if (report.exact) return 0;
  if (report.series_snapshots) return report.series_detection_limit;
  return kNoiseSigmas * kNoiseSigmas * SampleInterval(report);
}

bool NotSignificant(double growth, double variance) {
  return variance > 0 && !Exceeds(std::fabs(growth), variance, 0);
}

namespace {

size_t Index(Resource r) { return static_cast<size_t>(r); }

}  // namespace

CheckResult Check(const Report& diff, const Thresholds& t, const Suppressions& suppressions) {
  CheckResult result;
  std::vector<Site>& kept = result.checked;
  std::vector<Suppressions::ProgramName> programs;
  for (const std::vector<DumpInfo>* dumps : {&diff.baseline, &diff.dumps})
    for (const DumpInfo& d : *dumps)
      if (!d.exe_path.empty()) programs.push_back({d.exe_path, d.program});
  for (const Site& s : diff.sites) {
    if (const std::string* pattern = suppressions.Match(s, programs)) {
      ++result.suppressed;
      result.suppressed_sites.push_back({s, *pattern});
      continue;
    }
    kept.push_back(s);
  }
  result.totals = ComputeTotals(kept);
  const Totals& heap = result.totals[Index(Resource::kHeap)];
  const Totals& mmap = result.totals[Index(Resource::kMmap)];
  const Totals& fd = result.totals[Index(Resource::kFd)];
  const Totals& threads = result.totals[Index(Resource::kThread)];

  std::set<std::string> offending_keys;
  RuleResult* rule = nullptr;  // the rule being evaluated
  auto offend = [&](const Site& s) {
    if (rule) rule->offending_keys.push_back(s.key);
    if (offending_keys.insert(s.key).second) result.offending.push_back(s);
  };
  // The sites behind a failed total: those that grew (beyond noise if any do).
  auto offend_growing = [&](Resource r, bool by_count) {
    size_t before = rule ? rule->offending_keys.size() : 0;
    for (const Site& s : kept)
      if (s.resource == r && (by_count ? Exceeds(s.count, s.var_count, 0) : Exceeds(s.bytes, s.var_bytes, 0)))
        offend(s);
    if (rule && rule->offending_keys.size() == before)
      for (const Site& s : kept)
        if (s.resource == r && (by_count ? s.count > 0 : s.bytes > 0)) offend(s);
  };
  auto add_rule = [&](std::string name, std::string summary, std::optional<double> limit, double value,
                      double variance) -> RuleResult& {
    RuleResult& r = result.rules.emplace_back();
    r.name = std::move(name);
    r.summary = std::move(summary);
    r.limit = limit;
    r.value = value;
    r.stderr_value = variance > 0 ? std::sqrt(variance) : 0;
    return r;
  };
  auto fail = [&](RuleResult& r, std::string message) {
    r.passed = false;
    r.message = message;
    result.violations.push_back(std::move(message));
  };
  // result.rules only grows by emplace_back while `rule` is unused.
  auto bind = [&](RuleResult& r) { rule = &r; };

  if (!t.any()) {
    {
      RuleResult& r = add_rule("heap-growth",
                               diff.exact ? "no heap growth" : "no heap growth beyond sampling noise (3 standard errors)",
                               std::nullopt, heap.bytes, heap.var_bytes);
      bind(r);
      if (Exceeds(heap.bytes, heap.var_bytes, 0)) {
        fail(r, fmt::format("heap grew by {}{}", FormatSignedBytes(heap.bytes),
                            heap.var_bytes > 0 ? " (more than sampling noise)" : ""));
        offend_growing(Resource::kHeap, false);
      } else {
        // A leak can hide in the total behind something that shrank.
        size_t n = 0;
        for (const Site& s : kept)
          if (s.resource == Resource::kHeap && Exceeds(s.bytes, s.var_bytes, 0)) {
            offend(s);
            ++n;
          }
        if (n) fail(r, fmt::format("{} heap call site(s) grew by more than sampling noise", n));
      }
      rule = nullptr;
    }
    {
      RuleResult& r = add_rule("mmap-growth", "no growth of mapped memory", std::nullopt, mmap.bytes, 0);
      bind(r);
      if (Exceeds(mmap.bytes, 0, 0)) {
        fail(r, fmt::format("mappings grew by {}", FormatSignedBytes(mmap.bytes)));
        offend_growing(Resource::kMmap, false);
      }
      rule = nullptr;
    }
    {
      RuleResult& r = add_rule("fd-growth", "no growth in open file descriptors", std::nullopt, fd.count, 0);
      bind(r);
      if (Exceeds(fd.count, 0, 0)) {
        fail(r, fmt::format("open file descriptors grew by {}", FormatSignedCount(fd.count)));
        offend_growing(Resource::kFd, true);
      }
      rule = nullptr;
    }
    {
      RuleResult& r = add_rule("thread-growth", "no growth in live threads", std::nullopt, threads.count, 0);
      bind(r);
      if (Exceeds(threads.count, 0, 0)) {
        fail(r, fmt::format("live threads grew by {}", FormatSignedCount(threads.count)));
        offend_growing(Resource::kThread, true);
      }
      rule = nullptr;
    }
  } else {
    if (t.max_bytes) {
      RuleResult& r = add_rule("max-bytes", fmt::format("total heap growth <= {}", FormatBytes(*t.max_bytes)),
                               t.max_bytes, heap.bytes, heap.var_bytes);
      bind(r);
      if (Exceeds(heap.bytes, heap.var_bytes, *t.max_bytes)) {
        fail(r, fmt::format("heap grew by {}, more than --max-bytes {}", FormatSignedBytes(heap.bytes),
                            FormatBytes(*t.max_bytes)));
        offend_growing(Resource::kHeap, false);
      }
      rule = nullptr;
    }
    if (t.max_site_bytes) {
      double largest = 0, largest_var = 0;
      for (const Site& s : kept)
        if (s.resource == Resource::kHeap && s.bytes > largest) {
          largest = s.bytes;
          largest_var = s.var_bytes;
        }
      RuleResult& r = add_rule("max-site-bytes",
                               fmt::format("heap growth of any one call site <= {}", FormatBytes(*t.max_site_bytes)),
                               t.max_site_bytes, largest, largest_var);
      bind(r);
      size_t n = 0;
      for (const Site& s : kept)
        if (s.resource == Resource::kHeap && Exceeds(s.bytes, s.var_bytes, *t.max_site_bytes)) {
          offend(s);
          ++n;
        }
      if (n)
        fail(r, fmt::format("{} call site(s) grew by more than --max-site-bytes {}", n,
                            FormatBytes(*t.max_site_bytes)));
      rule = nullptr;
    }
    if (t.max_mmap_bytes) {
      RuleResult& r = add_rule("max-mmap-bytes",
                               fmt::format("growth of mapped memory <= {}", FormatBytes(*t.max_mmap_bytes)),
                               t.max_mmap_bytes, mmap.bytes, 0);
      bind(r);
      if (Exceeds(mmap.bytes, 0, *t.max_mmap_bytes)) {
        fail(r, fmt::format("mappings grew by {}, more than --max-mmap-bytes {}", FormatSignedBytes(mmap.bytes),
                            FormatBytes(*t.max_mmap_bytes)));
        offend_growing(Resource::kMmap, false);
      }
      rule = nullptr;
    }
    if (t.max_fds) {
      RuleResult& r = add_rule("max-fds", fmt::format("growth in open file descriptors <= {}", FormatCount(*t.max_fds)),
                               t.max_fds, fd.count, 0);
      bind(r);
      if (Exceeds(fd.count, 0, *t.max_fds)) {
        fail(r, fmt::format("open file descriptors grew by {}, more than --max-fds {}", FormatSignedCount(fd.count),
                            FormatCount(*t.max_fds)));
        offend_growing(Resource::kFd, true);
      }
      rule = nullptr;
    }
    if (t.max_threads) {
      // Like --max-fds, the total over every site: a pool that moves its
      // threads from one spawning site to another has not leaked.
      RuleResult& r = add_rule("max-threads", fmt::format("growth in live threads <= {}", FormatCount(*t.max_threads)),
                               t.max_threads, threads.count, 0);
      bind(r);
      if (Exceeds(threads.count, 0, *t.max_threads)) {
        fail(r, fmt::format("live threads grew by {}, more than --max-threads {}", FormatSignedCount(threads.count),
                            FormatCount(*t.max_threads)));
        offend_growing(Resource::kThread, true);
      }
      rule = nullptr;
    }
    const MemoryParts memory = ReportMemory(diff);
    if (t.max_rss) {
      RuleResult& r = add_rule("max-rss", fmt::format("RSS growth <= {}", FormatBytes(*t.max_rss)), t.max_rss,
                               memory.rss, 0);
      if (!memory.known) {
        fail(r, "the dumps carry no memory figures (written by an older leaktrace): RSS growth unknown");
      } else if (Exceeds(memory.rss, 0, *t.max_rss)) {
        const std::string reading = MemoryReading(memory);
        fail(r, fmt::format("RSS grew by {}, more than --max-rss {}{}", FormatSignedBytes(memory.rss),
                            FormatBytes(*t.max_rss), reading.empty() ? "" : " (" + reading + ")"));
      }
    }
    if (t.max_unexplained) {
      // Without the allocator's figures the heap estimate is part of the
      // remainder, and so is its noise.
      const double variance = memory.allocator.empty() ? memory.heap_var : 0;
      RuleResult& r = add_rule("max-unexplained",
                               fmt::format("growth of unexplained RSS <= {}", FormatBytes(*t.max_unexplained)),
                               t.max_unexplained, memory.unexplained, variance);
      if (!memory.known) {
        fail(r, "the dumps carry no memory figures (written by an older leaktrace): unexplained RSS unknown");
      } else if (Exceeds(memory.unexplained, variance, *t.max_unexplained)) {
        fail(r, fmt::format("unexplained RSS grew by {}, more than --max-unexplained {}: memory leaktrace does not "
                            "see (static allocator? raw mmap syscalls?)",
                            FormatSignedBytes(memory.unexplained), FormatBytes(*t.max_unexplained)));
      }
    }
  }
  result.passed = result.violations.empty();
  SortSites(result.offending);
  SortSites(result.checked);
  return result;
}

}  // namespace leaktrace::reporter
