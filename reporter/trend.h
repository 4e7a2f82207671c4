// Growth over a series of snapshots of one process: per call site, a
// least-squares slope and a verdict that tells a steady leak from warm-up,
// from a bounded cache, from something shrinking or flat.
//
// The rule (also in docs/cli.md, "leaktrace trend"). Per site, y_i is the
// live figure at snapshot i (bytes for heap and mmap, count for fd), v_i its
// sampling variance (0 for exact data), t_i the snapshot's monotonic time,
// a_i the cumulative allocations (bytes; count for fd). n >= 3 snapshots;
// the *recent part* is snapshots h..n-1 with h = (n-1)/2 (integer division),
// i.e. the last half including the middle snapshot, always >= 2 points.
//
//   slope b = sum w_i (y_i - y_0), w_i = (t_i - tbar) / Sxx,
//   Var(b) = sum_i w_i^2 v_i + 2 sum_{k<l} w_k w_l C_kl
//
// C_kl, what the estimates at snapshots k < l share: the variance of the
// samples snapshot l holds that were already held at t_k, from the births
// in its dump's ages section (trend_covariance.h: a sampled block stays
// live at the same weight from its birth to its free, so snapshots k and l
// count the very same samples). Taken as independent, the snapshots of a
// full cache at 512 KiB sampling stated slope errors about 3x too small
// and the cache was called a leak in 4 soaks of 24; a steady leak's, whose
// estimates are a running sum, about 3x too small as well. Where births
// are not known (a dump without ages, samples without a record) the
// variance is the largest those unknown births allow: an upper bound
// (TrendSite::stderr_is_bound). Exact figures have no variance: 0.
// "x is significantly positive" means x > 3 standard errors (kNoiseSigmas);
// two values differ significantly when |y_i - y_j| > 3 sqrt(v_i + v_j). For
// exact data any non-zero difference is significant.
//
// First match wins:
//   leak       b > 0 significantly; the recent slope b_r > 0 significantly and
//              b_r >= b / 2; and no value is significantly above the last one.
//              For a sampled heap site whose last dump records its samples'
//              births, the three claims may also be made by growths: from
//              the first point to the last and from the recent part's first
//              point h to the last, each significantly positive, and the
//              second's rate at least half the first's; each growth judged
//              with the variance the two estimates do not share:
//              Var(y_l - y_j) = v_l + v_j - 2 C_j, where C_j, the variance
//              of the samples the last dump holds that snapshot j held
//              already (C_jl above), is what y_j and y_l have in common (the same samples, at the
//              same weights, counted in both). A steady leak keeps its old
//              samples: its estimates rise together, and the independent
//              slopes' errors (v_i ~ T y_i) hid a 2 MiB/s leak over nine
//              one-second snapshots that a two-dump check of the same first
//              and last dumps caught.
//   shrinking  b < 0 significantly and the last value significantly below the first.
//   flat       the figure never changed at all, and has no sampling
//              variance (exact data; ComputeTrend calls a heap figure of
//              sampled dumps "not significant" even with nothing sampled).
//   not significant  sampled, and no value differs significantly from the
//              first: sampling cannot tell this from noise, even when the
//              estimate never moved (exact data has no noise, so any change
//              is one of the verdicts above).
//   warm-up    the last value is significantly above the first, the recent
//              part is flat (no recent value differs significantly from the
//              last) and allocations stopped (a_{n-1} == a_h).
//   bounded    anything else: filled, then kept allocating within a bound
//              (cache turnover), or oscillates.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "format/dump.h"
#include "reporter/model.h"
#include "reporter/report_from_dump.h"
#include "reporter/trend_covariance.h"

namespace leaktrace::reporter {

enum class Verdict { kLeak, kWarmUp, kBounded, kShrinking, kNotSignificant, kFlat };
inline constexpr size_t kVerdictCount = 6;
inline constexpr Verdict kAllVerdicts[] = {Verdict::kLeak,      Verdict::kWarmUp,         Verdict::kBounded,
                                          Verdict::kShrinking, Verdict::kNotSignificant, Verdict::kFlat};

// "leak", "warm-up", "bounded", "shrinking", "not significant", "flat".
const char* VerdictName(Verdict v);

struct TrendSite {
  // Frames, key, resource and label of the site; bytes/count/var_* are the
  // growth over the series (last snapshot minus first), as a diff would show.
  Site site;
  // Per snapshot, in time order (0 where the site was absent).
  std::vector<double> bytes, counts, var_bytes;
  std::vector<double> allocated;  // cumulative allocations: bytes (count for fd)
  // The judged figure's slope per second (bytes for heap and mmap, count for
  // fd) over the whole series and over the recent part, with standard errors.
  double slope = 0, slope_stderr = 0;
  double recent_slope = 0, recent_slope_stderr = 0;
  // The standard errors are upper bounds: some snapshot does not say when
  // its samples were born (CombinationVariance).
  bool stderr_is_bound = false;
  // The variance the last snapshot's estimate shares with the first judged
  // point's and with the recent part's first point; -1 unknown.
  double shared_var_first = -1, shared_var_recent = -1;
  Verdict verdict = Verdict::kFlat;
};

// The points a series is judged at (SpacedPoints: of snapshots much closer
// than the others, the last), as indexes into the series in time order: its
// first point and the recent part's first.
struct JudgedPoints {
  size_t first = 0, recent = 0;
};
JudgedPoints JudgedPointsOf(const std::vector<double>& seconds);

// One series of process-memory figures (memory.h) over the snapshots,
// judged by the same rule as a site. RSS and the parts other than heap are
// exact readings but move by pages with no leak at all, so they are given a
// noise of kMemoryNoiseBytes or 1% of the figure (whichever is larger) as
// three standard errors: smaller changes are never significant. The heap
// series carries its sampling variance.
struct MemorySeries {
  std::string name;  // "rss", "heap", "allocator_free", "unexplained"
  std::vector<double> values, variances;
  double slope = 0, slope_stderr = 0, recent_slope = 0, recent_slope_stderr = 0;
  Verdict verdict = Verdict::kFlat;
};
inline constexpr double kMemoryNoiseBytes = 1 << 20;

struct Trend {
  std::vector<DumpInfo> dumps;  // in time order
  std::vector<double> seconds;  // per dump, since the first
  bool exact = true;
  // Sampled series: the smallest growth over the series of a steady leak at
  // a new call site that the rule can call `leak` (TrendDetectionLimit);
  // 0 for exact series.
  double detection_limit_bytes = 0;
  // Sampled snapshots that do not say when their samples were born
  // (Births::kUnknown), or not all of them (kPartial).
  size_t births_unknown = 0, births_partial = 0;
  std::vector<TrendSite> sites;  // leaks first, then by verdict, then by growth
  // rss, heap, allocator_free, unexplained; empty when some dump has no
  // memory section.
  std::vector<MemorySeries> memory;
  // The exit snapshot given with three or more others, left out of the
  // series (LoadTrend); empty path when none was.
  DumpInfo exit_left_out;
};

// Why `dumps` cannot form one series, or nullopt: fewer than 3, different
// processes (pid or start time), or two taken at the same instant.
std::optional<std::string> SeriesProblem(const std::vector<DumpInfo>& dumps);

// `live[i]` and `allocated[i]` are kLive reports of one dump each (allocated:
// figures are the dump's alloc_* instead of live_*, see AllocatedReport; may
// be empty, then allocations count as stopped). SeriesProblem must be nullopt.
// `samples`: each dump's samples (SamplesOf, indexed like `live`), for the
// covariance of sampled estimates; empty: no birth known, the sampled
// heap's errors are upper bounds.
Trend ComputeTrend(const std::vector<Report>& live, const std::vector<Report>& allocated,
                   std::vector<DumpSamples> samples = {});

// Judges one series (exposed for tests). `values` and `variances` are the
// judged figure per snapshot.
// `shared_first`, `shared_recent`: the variance the last value shares with
// the first judged point's and the recent part's first (-1: not known; the
// leak rule's growths are then not used). `sharing`: what the values share
// (ShareOf over the whole series), for the slopes' errors; nullptr: the
// values are independent (exact figures, or noise of their own).
Verdict Judge(const std::vector<double>& seconds, const std::vector<double>& values,
              const std::vector<double>& variances, const std::vector<double>& allocated, double* slope = nullptr,
              double* slope_stderr = nullptr, double* recent_slope = nullptr, double* recent_stderr = nullptr,
              double shared_first = -1, double shared_recent = -1, const SeriesSharing* sharing = nullptr);

// The detection limit of a sampled series: the smallest growth from the
// first snapshot to the last of a call site that grows steadily from nothing
// (y_i = r (t_i - t_0)) that the rule above calls `leak`. Sampled estimates
// of small allocations have variance v_i = T y_i (T the sampling interval),
// and the slopes' variances are T r S, S over the whole series and the
// recent part, so both are significant when r > 9 T S: the limit is
// 9 T S_max (t_{n-1} - t_0). It depends on how many snapshots there are and
// when they were taken; 0 when T is 0 (exact).
// `births_known` (every sampled dump records its samples' births): the
// leak keeps every sample, Cov(y_i, y_j) = T r (min(t_i, t_j) - t_0), and
// S = SteadyLeakSlopeVariance, at least 1/(t_{n-1} - t_0): the limit never
// falls below 9 T however many snapshots there are (taken as independent it
// shrank as 1/n: 327.9 KiB at 512 KiB over 1000 snapshots). The growth
// since the recent part's first point, R, is then also significant when
// R > 9 T, so the limit is at most 9 T (t_{n-1} - t_0) / (t_{n-1} - t_h).
// Births unknown: S is the upper bound CombinationVariance states.
double TrendDetectionLimit(const std::vector<double>& seconds, double sample_interval, bool births_known = false);

// FromDump with each site's cumulative allocations (alloc_bytes,
// alloc_count) as its figures, no variances: the turnover that tells a
// bounded cache from warm-up.
Report AllocatedReport(const format::Dump& dump, const FrameSource& source, const StackOptions& options = {},
                       const ProgressFn& progress = {});

// The kGrowth report `check --trend` gates on: the leak sites only, with
// their growth over the series; baseline the first dump, dumps the last.
Report LeakGrowth(const Trend& trend);

}  // namespace leaktrace::reporter
