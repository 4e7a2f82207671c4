#include "reporter/model.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace leaktrace::reporter {

DumpInfo DescribeDump(const format::Dump& dump) {
  DumpInfo info;
  info.path = dump.path;
  info.program = dump.process.program;
  info.exe_path = dump.process.exe_path;
  info.pid = dump.process.pid;
  info.seq = dump.process.seq;
  info.trigger = dump.process.trigger;
  info.snapshot_realtime_ns = dump.process.snapshot_realtime_ns;
  info.snapshot_monotonic_ns = dump.process.snapshot_monotonic_ns;
  info.start_realtime_ns = dump.process.start_realtime_ns;
  info.exact = dump.process.exact();
  info.attached = dump.process.attached();
  info.sample_interval = dump.process.sample_interval;
  info.health = dump.health;
  info.memory = MemoryOf(dump);
  return info;
}

std::optional<std::string> NotOneProcess(const std::vector<DumpInfo>& dumps, const char* who) {
  if (dumps.empty()) return std::nullopt;
  const DumpInfo& first = dumps.front();
  for (const DumpInfo& d : dumps) {
    if (d.pid != first.pid || d.start_realtime_ns != first.start_realtime_ns)
      return fmt::format("{} is from another process (pid {}) than {} (pid {}); {} needs snapshots of one process",
                         d.path, d.pid, first.path, first.pid, who);
  }
  std::vector<const DumpInfo*> by_time;
  for (const DumpInfo& d : dumps) by_time.push_back(&d);
  std::stable_sort(by_time.begin(), by_time.end(), [](const DumpInfo* a, const DumpInfo* b) {
    return a->snapshot_monotonic_ns < b->snapshot_monotonic_ns;
  });
  for (size_t i = 1; i < by_time.size(); ++i)
    if (by_time[i]->snapshot_monotonic_ns == by_time[i - 1]->snapshot_monotonic_ns)
      return fmt::format("{} and {} are the same snapshot; give each snapshot once", by_time[i - 1]->path,
                         by_time[i]->path);
  return std::nullopt;
}

MemoryParts ReportMemory(const Report& report) {
  auto sum = [](const std::vector<DumpInfo>& dumps) {
    std::vector<MemoryParts> parts;
    for (const DumpInfo& d : dumps) parts.push_back(d.memory);
    return SumMemory(parts);
  };
  if (report.kind == ReportKind::kLive) return sum(report.dumps);
  MemoryParts growth = MemoryGrowth(sum(report.baseline), sum(report.dumps));
  // Not under --older-than: the sites then count old objects only, the
  // table every one.
  if (growth.known && report.heap_growth_var >= 0 && report.older_than_s <= 0) growth.heap_var = report.heap_growth_var;
  return growth;
}

const char* TriggerName(format::Trigger t) {
  switch (t) {
    case format::Trigger::kSignal: return "signal";
    case format::Trigger::kInterval: return "interval";
    case format::Trigger::kExit: return "exit";
  }
  return "unknown";
}

TotalsByResource ComputeTotals(const std::vector<Site>& sites) {
  TotalsByResource totals{};
  for (const Site& s : sites) {
    size_t i = static_cast<size_t>(s.resource);
    if (i >= kResourceCount) continue;
    totals[i].bytes += s.bytes;
    totals[i].count += s.count;
    totals[i].var_bytes += s.var_bytes;
    totals[i].var_count += s.var_count;
  }
  return totals;
}

void SortSites(std::vector<Site>& sites) {
  auto rank = [](const Site& s) {
    bool fd = CountedByNumber(s.resource);
    // Sort keys ascending: group, then negated magnitude, then tie-breakers.
    return std::make_tuple(fd ? 1 : 0, fd ? -s.count : -s.bytes, fd ? -s.bytes : -s.count);
  };
  std::stable_sort(sites.begin(), sites.end(), [&](const Site& a, const Site& b) {
    auto ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb;
    return a.key < b.key;
  });
}

void SortSitesByAllocated(std::vector<Site>& sites) {
  auto rank = [](const Site& s) {
    bool fd = CountedByNumber(s.resource);
    return std::make_tuple(fd ? 1 : 0, fd ? -s.alloc_count : -s.alloc_bytes, fd ? -s.count : -s.bytes);
  };
  std::stable_sort(sites.begin(), sites.end(), [&](const Site& a, const Site& b) {
    auto ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb;
    return a.key < b.key;
  });
}

namespace {
const DumpInfo* Newest(const std::vector<DumpInfo>& dumps) {
  const DumpInfo* newest = nullptr;
  for (const DumpInfo& d : dumps)
    if (!newest || d.snapshot_realtime_ns > newest->snapshot_realtime_ns) newest = &d;
  return newest;
}
}  // namespace

double IntervalSeconds(const Report& report) {
  const DumpInfo* before = Newest(report.baseline);
  const DumpInfo* after = Newest(report.dumps);
  if (!before || !after) return -1;
  bool same_process = before->pid == after->pid && before->start_realtime_ns == after->start_realtime_ns;
  int64_t ns = same_process ? after->snapshot_monotonic_ns - before->snapshot_monotonic_ns
                            : after->snapshot_realtime_ns - before->snapshot_realtime_ns;
  if (before->snapshot_realtime_ns == 0 || after->snapshot_realtime_ns == 0) return -1;
  return static_cast<double>(ns) / 1e9;
}

double AllocationSeconds(const Report& report) {
  if (report.kind != ReportKind::kLive || report.dumps.size() != 1) return 0;
  const DumpInfo& d = report.dumps[0];
  if (d.start_realtime_ns <= 0 || d.snapshot_realtime_ns <= d.start_realtime_ns) return 0;
  return static_cast<double>(d.snapshot_realtime_ns - d.start_realtime_ns) / 1e9;
}

}  // namespace leaktrace::reporter
