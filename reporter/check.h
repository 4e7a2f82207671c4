// The CI gate: does a diff stay within thresholds?
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reporter/model.h"
#include "reporter/suppressions.h"

namespace leaktrace::reporter {

// Unset thresholds are not checked. With none set at all, the default rule
// applies: any heap growth beyond sampling noise, any mmap growth, any fd
// growth and any growth in live threads fails.
struct Thresholds {
  std::optional<double> max_bytes;       // total heap growth
  std::optional<double> max_site_bytes;   // heap growth of any one site
  std::optional<double> max_fds;          // fd count growth
  std::optional<double> max_mmap_bytes;   // total mmap growth
  std::optional<double> max_threads;      // growth in live threads, all sites together
  std::optional<double> max_rss;          // RSS growth (memory.h; the dumps must carry a memory section)
  std::optional<double> max_unexplained;  // growth of the RSS nobody explains (memory.h)

  bool any() const {
    return max_bytes || max_site_bytes || max_fds || max_mmap_bytes || max_threads || max_rss || max_unexplained;
  }
  bool needs_memory() const { return max_rss || max_unexplained; }
};

// How many standard errors of a sampled estimate count as noise. Exact data
// has no variance, so there any growth is real.
inline constexpr double kNoiseSigmas = 3.0;

// Growth beyond `limit` by more than sampling noise: for exact data simply
// growth > limit; for sampled data growth > limit + 3 standard errors, so a
// CI gate does not flake on estimation noise.
bool Exceeds(double growth, double variance, double limit);

// The largest sampling interval of the sampled dumps behind `report` (its
// dumps and baseline), in bytes; 0 when every dump is exact.
double SampleInterval(const Report& report);

// The smallest heap growth a sampled diff can tell from noise: growth G at a
// call site with nothing live before is a sum of new sampled objects whose
// estimate has variance about G T (T the sampling interval, allocations much
// smaller than T), so it exceeds 3 standard errors when G > 9 T. Sites that
// already held bytes, and the total, need more (their variance adds up).
// 0 for exact data, where any growth is real.
double DetectionLimitBytes(const Report& report);

// A growth figure that sampling cannot tell from noise: sampled (variance
// > 0) and within 3 standard errors of zero, either way.
bool NotSignificant(double growth, double variance);

// One rule the gate applied: a threshold given on the command line, or one
// of the default rules when none was.
struct RuleResult {
  std::string name;      // "max-bytes", "max-site-bytes", "max-fds", "max-mmap-bytes", "max-threads",
                         // "max-rss", "max-unexplained";
                         // default rules: "heap-growth", "mmap-growth", "fd-growth", "thread-growth"
  std::string summary;   // what it checks, for people: "total heap growth <= 1.0 MiB"
  std::optional<double> limit;  // the threshold (absent for default rules)
  double value = 0;      // the growth it judged (for max-site-bytes: the largest site's)
  double stderr_value = 0;  // one standard error of `value` (sampled heap data), else 0
  bool passed = true;
  std::string message;   // the violation, when it failed
  std::vector<std::string> offending_keys;  // Site::key of the sites it blames
};

struct SuppressedSite {
  Site site;
  std::string pattern;  // the suppression that matched
};

struct CheckResult {
  bool passed = true;
  std::vector<std::string> violations;  // one line each, for people
  std::vector<RuleResult> rules;        // every rule applied, in order
  std::vector<Site> offending;          // sorted, no duplicates
  std::vector<Site> checked;            // every site not suppressed, sorted
  std::vector<SuppressedSite> suppressed_sites;
  size_t suppressed = 0;                // sites ignored by suppressions
  TotalsByResource totals{};            // growth after suppressions
};

// `diff` must be a kGrowth report; with max_rss or max_unexplained its dumps
// must carry memory sections (ReportMemory(diff).known), which the caller
// checks (a rule without the figures it needs fails).
CheckResult Check(const Report& diff, const Thresholds& thresholds, const Suppressions& suppressions);

}  // namespace leaktrace::reporter
