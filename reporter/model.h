// The reporter's model: call sites with symbolized stacks, independent of any
// one dump, so sites from several dumps (or two runs of one build) can be
// matched, added up and subtracted.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "format/dump.h"
#include "reporter/memory.h"
#include "reporter/site_key.h"
#include "symbolizer/frame.h"

namespace leaktrace::reporter {

using format::Resource;
inline constexpr size_t kResourceCount = 4;  // heap, mmap, fd, thread (the enum's values)

// Resources whose size is a number of things (descriptors, threads) rather
// than bytes: ranked, judged over time and gated by count. A thread site's
// bytes (its threads' stack sizes) are shown beside the count.
inline bool CountedByNumber(Resource r) { return r == Resource::kFd || r == Resource::kThread; }

// One source-level frame and how it is named: the symbolizer's
// (symbolizer/frame.h).
using Frame = symbolizer::Frame;
using symbolizer::DisplayName;
using symbolizer::ModuleBasename;

// One call site. In a report the figures are what is live; in a diff they are
// the growth (after minus before). For sampled heap data bytes/count are
// unbiased estimates and var_* their variances; exact data has var_* == 0.
struct Site {
  Resource resource = Resource::kHeap;
  std::string label;          // fd kind, mapping path, ...; may be empty
  std::vector<Frame> frames;  // innermost first, no leaktrace frames
  double bytes = 0;
  double count = 0;
  double var_bytes = 0;
  double var_count = 0;
  bool truncated = false;  // the recorded stack hit the depth cap
  // Its innermost frames only: stacks that came after the process's stack
  // budget was spent (format::kStackFolded), added up here.
  bool folded = false;
  SiteKey key;             // identity across dumps and runs (site_key.h)
  // Age in seconds, at its snapshot, of the oldest live object of the site
  // whose birth the dump records (for sampled heap: the oldest sample);
  // -1 when none is. Sites added up keep the largest.
  double oldest_age_s = -1;
  // Everything the site allocated since the process started, freed or not
  // (the dump's alloc_*; estimates for sampled heap). Reports only.
  double alloc_bytes = 0;
  double alloc_count = 0;
};

// Where a report's numbers came from.
struct DumpInfo {
  std::string path;
  std::string program;
  std::string exe_path;
  uint32_t pid = 0;
  uint32_t seq = 0;
  format::Trigger trigger = format::Trigger::kSignal;
  int64_t snapshot_realtime_ns = 0;
  int64_t snapshot_monotonic_ns = 0;
  int64_t start_realtime_ns = 0;  // the attach time when `attached`
  bool exact = false;
  bool attached = false;  // tracking started in the running process (leaktrace attach)
  uint64_t sample_interval = 0;
  std::vector<std::pair<std::string, uint64_t>> health;
  MemoryParts memory;  // where its RSS went (memory.h); unknown for a dump without a memory section
};

DumpInfo DescribeDump(const format::Dump& dump);

// Why `dumps` are not snapshots of one process, each given once, or
// nullopt: one is from another process (pid, or start of its image), or two
// were taken at the same instant (one snapshot twice). `who` names what
// needs them in the message ("trend", "a memory chart").
std::optional<std::string> NotOneProcess(const std::vector<DumpInfo>& dumps, const char* who);
const char* TriggerName(format::Trigger t);

enum class ReportKind { kLive, kGrowth };

struct Report {
  ReportKind kind = ReportKind::kLive;
  std::vector<DumpInfo> dumps;     // kLive: the inputs; kGrowth: the AFTER dumps
  std::vector<DumpInfo> baseline;  // kGrowth only: the BEFORE dumps
  std::vector<Site> sites;         // sorted with SortSites
  bool exact = true;               // every input was an exact (unsampled) dump
  double older_than_s = 0;         // > 0: only objects at least this old count (--older-than)
  // A growth report over a trend's series (check --trend, trend JSON): the
  // number of snapshots and the trend's detection limit (TrendDetectionLimit),
  // which replaces a two-snapshot diff's. 0: a plain diff.
  size_t series_snapshots = 0;
  double series_detection_limit = 0;
  // A diff (Diff): the variance of the live heap's growth over its heap
  // sites, before any filter: what the headline's "±" says. The memory
  // table's live heap takes it (not under --older-than) rather than adding
  // both snapshots' whole variances, which counts again every site that did
  // not change (those the diff leaves out as no growth). < 0: not a diff.
  // Kept, not derived from `sites`: a report of a check's offending sites
  // only still describes the whole process's memory.
  double heap_growth_var = -1;
};

struct Totals {
  double bytes = 0;
  double count = 0;
  double var_bytes = 0;
  double var_count = 0;
};
using TotalsByResource = std::array<Totals, kResourceCount>;

// The process memory behind a report (memory.h): live in a kLive report
// (its dumps added up), growth in a kGrowth one (dumps minus baseline).
MemoryParts ReportMemory(const Report& report);

// Sums over all sites, per resource (indexed by the Resource value).
TotalsByResource ComputeTotals(const std::vector<Site>& sites);

// Biggest first: heap and mmap sites by bytes, then fd and thread sites by
// count (CountedByNumber); ties broken by the other figure, then key, so
// output is stable.
void SortSites(std::vector<Site>& sites);

// Biggest allocators first (report --sort allocated): heap and mmap by
// alloc_bytes, then fd and thread by alloc_count; ties as SortSites.
void SortSitesByAllocated(std::vector<Site>& sites);

// Seconds between the newest baseline dump and the newest dump of a growth
// report; monotonic clock when both come from one process, else wall clock.
// Negative when unknown.
double IntervalSeconds(const Report& report);

// Seconds from process start to snapshot of a live report of one dump: what
// the allocation rates of its summary divide by. 0 when unknown (several
// dumps, whose processes started at different times, or no start time).
double AllocationSeconds(const Report& report);

}  // namespace leaktrace::reporter
