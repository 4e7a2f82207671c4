// How the estimates of a sampled heap site at the snapshots of a trend
// vary together, from the births of the samples each dump holds, and the
// variance of a linear combination of them (a least-squares slope, a
// growth) under that covariance.
//
// Why: a sampled block stays live, at the same weight, in every snapshot
// from its birth to its free, so the estimates of one site at two
// snapshots share the variance of the samples live at both. A slope taken
// as if the snapshots were independent can be wrong either way. Samples
// held all through the series move every estimate alike and cancel out of
// a slope (independence overstates its error); samples that turn over
// within the series, or pile up (a leak's estimates are a running sum),
// make it several times larger than independence says: a full cache at
// 512 KiB sampling, 60 one-second snapshots, read recent slopes from -353
// to +273 KiB/s across runs, each stated ± 40-55 KiB/s, and was called a
// leak in 4 soaks of 24; a 900 KiB/s leak was stated ± 28 KiB/s where runs
// spread by about 100.
//
// The model. Sampling decisions are independent per block (a Poisson
// process over the bytes allocated), so Cov(y_k, y_l) for k < l is the
// variance of the samples live at both: held by snapshot l and born before
// t_k (one process: live at t_l and born before t_k means live at t_k).
// Estimated, as the dump's own variance is, by the sum of w (w - 1) size^2
// over those samples.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/dump.h"
#include "reporter/group.h"
#include "reporter/report_from_dump.h"

namespace leaktrace::reporter {

// What a dump says about when its heap samples were born.
enum class Births {
  // Nothing: no ages section (a library that did not record ages), an
  // exact dump (its heap ages are a sample of their own, drawn apart from
  // its exact counts), or ages drawn at another interval than the heap's
  // samples (health age_sample_interval).
  kUnknown,
  // Some sampled blocks have no record (health age_table_full > 0: the
  // table of live aged blocks was full when they were made).
  kPartial,
  // Every live sampled heap block has its record.
  kComplete,
};
Births BirthsOf(const format::Dump& dump);

// One live sampled heap block as the dump's ages section records it.
struct HeldSample {
  int64_t birth_ns = 0;  // CLOCK_MONOTONIC, the clock of the snapshot times
  uint64_t size = 0;
  double weight = 1;
};

// Site keys by number: the dumps of a series name the same sites over and
// over, and looking their samples up by key string was a third of what
// the covariance cost over 1000 dumps.
struct SiteKeys {
  std::vector<std::string> names;                 // id -> site key
  std::unordered_map<std::string, uint32_t> ids;  // site key -> id

  uint32_t Id(const std::string& key);
};

// The samples of one dump, per site key.
struct DumpSamples {
  Births births = Births::kUnknown;
  // The key table `by_key` numbers into (shared by the dumps of a series).
  std::shared_ptr<SiteKeys> keys;
  // Heap site key id (the key FromDump and Regroup give the site with the
  // same frame source, stack options and grouping) -> its samples of
  // weight > 1 (a sample of weight 1 is certain and adds no variance).
  std::vector<std::pair<uint32_t, std::vector<HeldSample>>> by_key;
};

// What SamplesOf worked out for one dump, kept for the next dump of the
// series: within one process a stack id names one stack, so a site's key
// follows from its stack id, resource and label as long as the modules
// (which symbolize the stack) are the same. Symbolizing every dump's sites
// again took half of `trend`'s time over 1000 dumps.
struct SiteKeyCache {
  std::shared_ptr<SiteKeys> keys = std::make_shared<SiteKeys>();
  std::vector<format::Module> modules;
  std::unordered_map<uint64_t, std::unordered_map<std::string, uint32_t>> ids;  // (stack id, resource) -> label -> key id
};
// `cache`: shared by the dumps of one series (nullptr: none).
DumpSamples SamplesOf(const format::Dump& dump, const FrameSource& source, const StackOptions& stacks = {},
                      const Grouping& grouping = {}, SiteKeyCache* cache = nullptr);

// What the estimates of one series share, per snapshot in time order: the
// variance w (w - 1) size^2 of the samples it holds, by `first`, the first
// snapshot that held the very same sample (at the same weight): every
// snapshot from `first` up to this one counted it. A sample born between
// snapshots m-1 and m was first held by m, except one the previous snapshot
// did not hold as it is, though born before it: a realloc decided it afresh
// since (docs/preload.md, sampled realloc), and it shares nothing earlier.
struct SeriesSharing {
  struct Held {
    size_t point = 0;
    size_t first = 0;  // <= point
    double variance = 0;
  };
  std::vector<Held> held;        // any order
  std::vector<double> recorded;  // per snapshot: the variance of the samples it holds on record
  // Per snapshot: variance whose sharing with the earlier snapshots is not
  // known (no births, or samples with no record); the variance of a
  // combination is then an upper bound.
  std::vector<double> unknown;

  bool bound() const;
  // Adds `other` (another site's sharing over the same snapshots): the
  // sharing of the two sites' estimates added up, as the live heap's.
  void Add(const SeriesSharing& other);
  // One entry per (point, first), their variances added up: all
  // CombinationVariance needs, in at most n (n + 1) / 2 entries.
  void Compact();
};

// A sample one snapshot of a series holds: `point` is the snapshot's
// index in time order; samples of different `site`s never match.
struct SeriesSample {
  uint32_t point = 0;
  uint32_t site = 0;
  HeldSample sample;
};

// Builds the sharing of one series. `samples`: its samples, any order;
// `births`, `variances` (the estimate's variance, the dump's
// var_live_bytes) and `snapshot_ns` per snapshot, in time order. A sample
// is matched to the previous snapshot's by site, birth, size and weight.
SeriesSharing ShareOf(std::vector<SeriesSample> samples, const std::vector<Births>& births,
                      const std::vector<double>& variances, const std::vector<int64_t>& snapshot_ns);

// Var(Σ u_k y_k) for estimates y_k with variances `v`:
//
//   Σ u_k² v_k + 2 Σ_l u_l Σ_{k<l} u_k C_kl,   C_kl = Σ held by l with first <= k
//
// computed per held entry as its variance times u_l (Σ u_k over the
// snapshots from `first` to l-1), with prefix sums of u: O(n + entries).
// Unknown variance of snapshot l is given the first holder that makes the
// result largest. The result is at most (Σ_{u>0} u_k σ_k)² +
// (Σ_{u<0} |u_k| σ_k)², which holds for any non-negative covariances, and at
// least 0. `sharing` nullptr: the estimates are independent (exact figures,
// or noise of their own).
double CombinationVariance(const std::vector<double>& u, const std::vector<double>& v, const SeriesSharing* sharing);

// The variance a steady leak's slope over the points `u` weighs has per
// unit of T r (T the sampling interval, r the rate), when every sample it
// makes stays (Cov(y_k, y_l) = T r (min(t_k, t_l) - t_0)):
// Σ_m (t_m - t_{m-1}) (Σ_{k>=m} u_k)². At least 1/(t_{n-1} - t_0) for a
// slope (Cauchy-Schwarz): unlike independent snapshots, more of them over
// the same time do not make a slope's error vanish.
double SteadyLeakSlopeVariance(const std::vector<double>& t, const std::vector<double>& u);

}  // namespace leaktrace::reporter
