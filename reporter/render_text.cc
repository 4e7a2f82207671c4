#include <algorithm>
#include <cmath>
#include <ctime>
#include <iterator>
#include <set>

#include <fmt/format.h>

#include "reporter/age_filter.h"
#include "reporter/check.h"
#include "reporter/render.h"
#include "reporter/sizes.h"

namespace leaktrace::reporter {

namespace {

// Kept deliberately small: bold headers, red growth, green shrinkage, dim
// locations. Nothing when colour is off.
struct Painter {
  bool on;
  std::string operator()(const std::string& text, const char* code) const {
    return on ? fmt::format("\033[{}m{}\033[0m", code, text) : text;
  }
};
constexpr const char* kBold = "1";
constexpr const char* kRed = "31";
constexpr const char* kGreen = "32";
constexpr const char* kDim = "2";

// Wider names are not padded; the column stays readable for the common case.
constexpr size_t kMaxNameColumn = 48;

std::string LocalTime(int64_t realtime_ns, bool with_date) { return FormatLocalTime(realtime_ns, with_date); }

bool SameDay(int64_t a_ns, int64_t b_ns) {
  return LocalTime(a_ns, true).substr(0, 10) == LocalTime(b_ns, true).substr(0, 10);
}

std::string Seconds(double s) {
  if (s < 0) return "unknown interval";
  if (s < 120) return fmt::format("{:.1f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

std::string CountNoun(Resource r, double count) {
  bool one = std::fabs(std::round(count)) == 1;
  switch (r) {
    case Resource::kHeap: return one ? "allocation" : "allocations";
    case Resource::kMmap: return one ? "mapping" : "mappings";
    case Resource::kFd: return one ? "fd" : "fds";
    case Resource::kThread: return one ? "thread" : "threads";
  }
  return "";
}

// "server (pid 4242)" or "server (pids 10, 11, 12)" or "a, b (pids ...)".
std::string DescribeProcesses(const std::vector<DumpInfo>& dumps) {
  std::vector<std::string> programs;
  std::set<uint32_t> pids;
  for (const DumpInfo& d : dumps) {
    if (std::find(programs.begin(), programs.end(), d.program) == programs.end()) programs.push_back(d.program);
    pids.insert(d.pid);
  }
  return fmt::format("{} ({} {})", fmt::join(programs, ", "), pids.size() == 1 ? "pid" : "pids", fmt::join(pids, ", "));
}

std::string DescribeSnapshot(const DumpInfo& d, bool with_date) {
  std::string text = fmt::format("#{} at {}", d.seq, LocalTime(d.snapshot_realtime_ns, with_date));
  if (d.attached && d.start_realtime_ns > 0)
    text += fmt::format(" (attached at {})", LocalTime(d.start_realtime_ns, with_date));
  return text;
}

std::string SamplingNote(const Report& report) {
  if (report.exact) return "exact";
  uint64_t interval = 0;
  for (const DumpInfo& d : report.dumps) interval = std::max(interval, d.sample_interval);
  for (const DumpInfo& d : report.baseline) interval = std::max(interval, d.sample_interval);
  return fmt::format("heap sampled every {}", FormatBytes(static_cast<double>(interval)));
}

bool Integral(const Report& report, Resource r) { return report.exact || r != Resource::kHeap; }

// "4.7 KiB" / "+4.7 KiB ± 1.0 KiB" for bytes, "~100" / "+100" for counts.
std::string Bytes(const Report& report, double v, double var) {
  std::string s = report.kind == ReportKind::kGrowth ? FormatSignedBytes(v) : FormatBytes(v);
  if (var > 0) s += " ± " + FormatBytes(std::sqrt(var));
  return s;
}
std::string Count(const Report& report, Resource r, double v) {
  std::string s = report.kind == ReportKind::kGrowth ? FormatSignedCount(v) : FormatCount(v);
  return Integral(report, r) ? s : "~" + s;
}

// " (not significant)" after a sampled growth figure within noise.
std::string Significance(const Report& report, Resource r, double bytes, double var) {
  return report.kind == ReportKind::kGrowth && r == Resource::kHeap && NotSignificant(bytes, var)
             ? " (not significant)"
             : "";
}

std::string ResourceSummary(const Report& report, Resource r, const Totals& t) {
  if (r == Resource::kFd) return fmt::format("fd {}", Count(report, r, t.count));
  if (r == Resource::kThread)
    return fmt::format("thread {} (stacks {})", Count(report, r, t.count), Bytes(report, t.bytes, 0));
  return fmt::format("{} {} in {} {}{}", format::ResourceName(r), Bytes(report, t.bytes, t.var_bytes),
                     Count(report, r, t.count), CountNoun(r, t.count), Significance(report, r, t.bytes, t.var_bytes));
}

std::string Summary(const Report& report) {
  TotalsByResource totals = ComputeTotals(report.sites);
  std::vector<std::string> parts;
  for (Resource r : {Resource::kHeap, Resource::kMmap, Resource::kFd})
    parts.push_back(ResourceSummary(report, r, totals[static_cast<size_t>(r)]));
  // Threads only where the dumps have some: older dumps and programs that
  // start none keep the line they always had.
  if (std::any_of(report.sites.begin(), report.sites.end(), [](const Site& s) { return s.resource == Resource::kThread; }))
    parts.push_back(ResourceSummary(report, Resource::kThread, totals[static_cast<size_t>(Resource::kThread)]));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// "allocated since start: heap 1.2 GiB in ~2,345 allocations (12.3 MiB/s,
// ~24/s over 1.6 min); freed since: 1.1 GiB in ~2,300 allocations": from the
// dumps' cumulative alloc_* (the rates only for one dump, whose process start
// is known; freed = allocated - live). Empty when nothing was allocated.
std::string AllocatedSummary(const Report& report) {
  double bytes = 0, count = 0, live_bytes = 0, live_count = 0;
  for (const Site& s : report.sites)
    if (s.resource == Resource::kHeap) {
      bytes += s.alloc_bytes;
      count += s.alloc_count;
      live_bytes += s.bytes;
      live_count += s.count;
    }
  if (bytes <= 0 && count <= 0) return "";
  const std::string approx = report.exact ? "" : "~";
  std::string rate;
  const double uptime = AllocationSeconds(report);
  if (uptime > 0)
    rate = fmt::format(" ({}/s, {}{}/s over {})", FormatBytes(bytes / uptime), approx, FormatCount(count / uptime),
                       Seconds(uptime));
  const double freed_bytes = std::max(0.0, bytes - live_bytes), freed_count = std::max(0.0, count - live_count);
  const bool attached = report.dumps.size() == 1 && report.dumps[0].attached;
  return fmt::format("allocated since {}: heap {} in {}{} {}{}; freed since: {} in {}{} {}\n",
                     attached ? "the attach" : "start", FormatBytes(bytes), approx, FormatCount(count),
                     CountNoun(Resource::kHeap, count), rate, FormatBytes(freed_bytes), approx,
                     FormatCount(freed_count), CountNoun(Resource::kHeap, freed_count));
}

// One line per reason a dump's heap went untracked (its health counter
// heap_not_tracked, preload/interpose/malloc_reach.h), naming the programs:
// their heap reads 0 B, which is no measurement.
std::string HeapNotTrackedText(const Report& report) {
  static constexpr const char* kWhy[] = {
      "",
      "an allocator ahead of libleaktrace.so in LD_PRELOAD takes every malloc (list libleaktrace.so first; "
      "leaktrace run does)",
      "malloc is the program's own",
      "a tool (valgrind) replaces malloc",
  };
  std::vector<std::string> programs[std::size(kWhy)];
  auto note = [&](const DumpInfo& d) {
    for (const auto& [name, value] : d.health)
      if (name == "heap_not_tracked" && value > 0 && value < std::size(kWhy) &&
          std::find(programs[value].begin(), programs[value].end(), d.program) == programs[value].end())
        programs[value].push_back(d.program);
  };
  for (const DumpInfo& d : report.baseline) note(d);
  for (const DumpInfo& d : report.dumps) note(d);
  std::string out;
  for (size_t why = 1; why < std::size(kWhy); ++why) {
    if (programs[why].empty()) continue;
    std::string names = programs[why][0];
    for (size_t i = 1; i < programs[why].size(); ++i) names += ", " + programs[why][i];
    out += fmt::format("heap not tracked in {}: {}; its heap reads 0 B (descriptors, mappings and threads are "
                       "tracked)\n",
                       names, kWhy[why]);
  }
  return out;
}

// One line per dump whose process spent its stack budget
// (LEAKTRACE_MAX_STACKS): its later new stacks are sites of their innermost
// frames (flagged so), which a reader must know before comparing sites.
std::string FoldedStacksText(const Report& report) {
  std::string out;
  auto note = [&](const DumpInfo& d) {
    uint64_t folded = 0, budget = 0;
    for (const auto& [name, value] : d.health) {
      if (name == "folded_stacks") folded = value;
      if (name == "max_stacks") budget = value;
    }
    if (folded == 0) return;
    out += fmt::format("stacks folded in {} {}: its budget of {} distinct stacks was spent; {} events from stacks new "
                       "since count at their innermost frames (LEAKTRACE_MAX_STACKS raises the budget)\n",
                       d.program, d.pid, budget, folded);
  };
  for (const DumpInfo& d : report.baseline) note(d);
  for (const DumpInfo& d : report.dumps) note(d);
  return out;
}

std::string Header(const Report& report) {
  std::string out;
  if (report.kind == ReportKind::kLive) {
    std::vector<DumpInfo> dumps = report.dumps;
    if (dumps.size() == 1) {
      out += fmt::format("{}, snapshot {} ({}), {}\n", DescribeProcesses(dumps), DescribeSnapshot(dumps[0], true),
                         TriggerName(dumps[0].trigger), SamplingNote(report));
    } else {
      auto [first, last] = std::minmax_element(dumps.begin(), dumps.end(), [](const DumpInfo& a, const DumpInfo& b) {
        return a.snapshot_realtime_ns < b.snapshot_realtime_ns;
      });
      out += fmt::format("{} dumps of {}, snapshots from {} to {}, {}\n", dumps.size(), DescribeProcesses(dumps),
                         LocalTime(first->snapshot_realtime_ns, true),
                         LocalTime(last->snapshot_realtime_ns, !SameDay(first->snapshot_realtime_ns, last->snapshot_realtime_ns)),
                         SamplingNote(report));
    }
    out += HeapNotTrackedText(report);
    out += FoldedStacksText(report);
    out += (report.older_than_s > 0 ? "live, older than " + FormatDuration(report.older_than_s) + ": " : "live: ") +
           Summary(report) + "\n";
    out += AllocatedSummary(report);
    out += MemoryText(ReportMemory(report), false, report.exact);
    return out;
  }
  // Growth: name both snapshots, then one line with growth, times, interval.
  std::vector<DumpInfo> all = report.baseline;
  all.insert(all.end(), report.dumps.begin(), report.dumps.end());
  out += fmt::format("{}, {}\n", DescribeProcesses(all), SamplingNote(report));
  out += HeapNotTrackedText(report);
  out += FoldedStacksText(report);
  int64_t t0 = 0, t1 = 0;
  for (const DumpInfo& d : report.baseline) t0 = std::max(t0, d.snapshot_realtime_ns);
  for (const DumpInfo& d : report.dumps) t1 = std::max(t1, d.snapshot_realtime_ns);
  const double interval = IntervalSeconds(report);
  // Swapped arguments: the times are known, the interval is negative.
  const std::string over = interval < 0 && t0 > 0 && t1 > 0 && t1 < t0
                               ? fmt::format("{} backwards: BEFORE is the later snapshot", Seconds(-interval))
                               : Seconds(interval);
  out += fmt::format("growth over {} ({} -> {}){}: {}\n", over, LocalTime(t0, true),
                     LocalTime(t1, !SameDay(t0, t1)),
                     report.older_than_s > 0 ? ", objects older than " + FormatDuration(report.older_than_s) : "",
                     Summary(report));
  out += DetectionLimitText(DetectionLimitBytes(report), IntervalSeconds(report), SampleInterval(report),
                            "heap growth below it at a call site");
  out += MemoryText(ReportMemory(report), true, report.exact);
  return out;
}

std::string Location(const Frame& f) {
  std::string loc;
  if (!f.file.empty()) {
    loc = f.line ? fmt::format("{}:{}", f.file.str(), f.line) : f.file.str();
  } else if (!f.function.empty() && !f.module.empty()) {
    loc = "(" + ModuleBasename(f.module) + ")";
  }
  if (f.inlined) loc += loc.empty() ? "[inlined]" : "  [inlined]";
  return loc;
}

void RenderSite(std::string& out, const Report& report, const Site& s, size_t rank, const RenderOptions& options,
                const Painter& paint) {
  std::string figure;
  if (s.resource == Resource::kFd) {
    figure = fmt::format("{} open", Count(report, s.resource, s.count));
  } else if (s.resource == Resource::kThread) {
    figure = fmt::format("{} {}, stacks {}", Count(report, s.resource, s.count), CountNoun(s.resource, s.count),
                         Bytes(report, s.bytes, 0));
  } else {
    figure = fmt::format("{} in {} {}{}", Bytes(report, s.bytes, s.var_bytes), Count(report, s.resource, s.count),
                         CountNoun(s.resource, s.count), Significance(report, s.resource, s.bytes, s.var_bytes));
  }
  if (report.kind == ReportKind::kGrowth) {
    double sign = CountedByNumber(s.resource) ? s.count : s.bytes;
    figure = paint(figure, sign > 0 ? kRed : kGreen);
  }
  if (s.oldest_age_s >= 0) figure += ", oldest " + FormatDuration(s.oldest_age_s);
  if (options.sort_allocated && report.kind == ReportKind::kLive && s.resource == Resource::kHeap)
    figure += fmt::format(", allocated {} in {}{} {}", FormatBytes(s.alloc_bytes), report.exact ? "" : "~",
                          FormatCount(s.alloc_count), CountNoun(s.resource, s.alloc_count));
  std::string head = fmt::format("#{} {} ", rank, format::ResourceName(s.resource));
  out += paint(head, kBold) + figure;
  if (!s.label.empty()) out += "  " + paint("[" + s.label + "]", kDim);
  out += "\n";

  size_t shown = options.max_frames ? std::min(options.max_frames, s.frames.size()) : s.frames.size();
  size_t width = 0;
  for (size_t i = 0; i < shown; ++i) width = std::max(width, std::min(DisplayName(s.frames[i]).size(), kMaxNameColumn));
  if (s.frames.empty()) out += "    (no stack)\n";
  for (size_t i = 0; i < shown; ++i) {
    const Frame& f = s.frames[i];
    std::string name = DisplayName(f);
    std::string loc = Location(f);
    if (loc.empty()) {
      out += fmt::format("    {}\n", name);
    } else {
      size_t pad = name.size() < width ? width - name.size() : 0;
      out += fmt::format("    {}{}  {}\n", name, std::string(pad, ' '), paint(loc, kDim));
    }
  }
  if (shown < s.frames.size()) out += fmt::format("    ... {} more frames\n", s.frames.size() - shown);
  if (s.truncated) out += "    ... (stack truncated when recorded)\n";
  if (s.folded) out += "    ... (innermost frames only: stacks recorded after the process's stack budget was spent)\n";
}

}  // namespace

std::string DetectionLimitText(double limit, double seconds, double sample_interval, const std::string& what) {
  if (limit <= 0) return "";
  std::string rate = seconds > 0 ? fmt::format(" ({}/s over {})", FormatBytes(limit / seconds), Seconds(seconds)) : "";
  // The way out: a finer interval than the one used, or exact mode.
  const std::string finer = sample_interval > 64 * 1024
                                ? "LEAKTRACE_SAMPLE=64k (leaktrace run --sample 64k), or --sample 1 (exact)"
                                : "LEAKTRACE_SAMPLE=1 (exact: leaktrace run --sample 1)";
  return fmt::format("detection limit {}: {}{} is not significant at {} sampling (3 standard errors); for smaller "
                     "leaks use {}\n",
                     FormatBytes(limit), what, rate, FormatBytes(sample_interval), finer);
}

std::string RenderText(const Report& report, const RenderOptions& options) {
  Painter paint{options.color};
  std::string out = Header(report);
  size_t hidden = 0;
  std::vector<const Site*> sites = SelectSites(report, options, &hidden);
  if (report.sites.empty()) {
    if (report.kind == ReportKind::kLive) out += "\nnothing live\n";
    else if (report.exact) out += "\nno growth\n";
    else out += "\nnothing sampled changed: heap growth below the detection limit is not significant\n";
    return out;
  }
  size_t rank = 0;
  for (const Site* s : sites) {
    out += "\n";
    RenderSite(out, report, *s, ++rank, options, paint);
  }
  if (hidden)
    out += fmt::format("\n{} more site{} not shown (see --top, --min-bytes)\n", hidden, hidden == 1 ? "" : "s");
  return out;
}

std::string RenderSiteText(const Report& report, const Site& site, size_t rank, const RenderOptions& options) {
  std::string out;
  RenderSite(out, report, site, rank, options, Painter{options.color});
  return out;
}

std::string RenderCheckText(const CheckResult& result, const Report& diff, const RenderOptions& options) {
  Painter paint{options.color};
  std::string out = Header(diff);
  if (result.passed) {
    out += paint("check passed", kGreen);
  } else {
    out += paint("check FAILED", kRed);
  }
  if (result.suppressed)
    out += fmt::format(" ({} site{} suppressed)", result.suppressed, result.suppressed == 1 ? "" : "s");
  out += "\n";
  for (const std::string& v : result.violations) out += "  " + v + "\n";
  Report offending;
  offending.kind = diff.kind;
  offending.exact = diff.exact;
  offending.sites = result.offending;
  size_t hidden = 0;
  std::vector<const Site*> sites = SelectSites(offending, options, &hidden);
  size_t rank = 0;
  for (const Site* s : sites) {
    out += "\n";
    RenderSite(out, offending, *s, ++rank, options, paint);
  }
  if (hidden)
    out += fmt::format("\n{} more offending site{} not shown (see --top)\n", hidden, hidden == 1 ? "" : "s");
  return out;
}

}  // namespace leaktrace::reporter
