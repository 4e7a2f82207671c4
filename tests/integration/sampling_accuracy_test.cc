// Sampled mode must be honest: an estimate and its stated standard error
// together must cover the truth, and balanced churn must stay within noise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

constexpr double kLeakBlocks = 20000;
constexpr double kLeakSize = 1000;

// How many stated standard errors an estimate may stray from the truth.
// Each leaked block is sampled on its own with p = 1 - exp(-1000 / T), so
// the number of samples is binomial and the studentized error of an honest
// estimate has a heavier tail than a normal one where samples are few (a
// small count also states a small error): at 4 standard errors one run at
// the default interval (~38 samples) failed with probability 1e-3, one run
// at 64k (~300) with 1.3e-4. At 7, computed exactly from the binomial:
// 3e-11 with ~1,200 samples, 1e-10 with ~600, 5e-10 with ~300.
constexpr double kSigmas = 7;

double Field(const nlohmann::json& site, const char* key) { return site.value(key, 0.0); }

// Runs sampled_leak at `interval` and returns the diff.
nlohmann::json SampledDiff(const std::string& interval, const TempDir& dir) {
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("sampled_leak")}, dir, {"LEAKTRACE_SAMPLE=" + interval});
  EXPECT_EQ(s.exit_code, 0);
  return DiffJson(s.before, s.after);
}

// `runs` independent runs of sampled_leak at `interval`, their leak
// estimates pooled: enough samples that kSigmas standard errors are a
// band of about a fifth of the truth.
void ExpectLeakEstimatedWithinError(const std::string& interval, int runs) {
  double bytes = 0, count = 0, var_bytes = 0, var_count = 0;
  for (int run = 0; run < runs; ++run) {
    TempDir dir;
    const nlohmann::json diff = SampledDiff(interval, dir);
    for (const auto& site : diff["sites"]) {
      bool leak_site = false;
      for (const auto& frame : site["frames"])
        if (frame.value("function", "") == "leak_known_bytes") leak_site = true;
      if (!leak_site) continue;
      bytes += Field(site, "bytes");
      count += Field(site, "count");
      var_bytes += std::pow(Field(site, "stderr_bytes"), 2);
      var_count += std::pow(Field(site, "stderr_count"), 2);
    }
  }
  const double blocks = runs * kLeakBlocks;
  const double se_bytes = std::sqrt(var_bytes), se_count = std::sqrt(var_count);
  ASSERT_GT(se_bytes, 0) << "a sampled estimate must state its error (interval " << interval << ")";
  EXPECT_LE(std::abs(bytes - blocks * kLeakSize), kSigmas * se_bytes)
      << "estimate " << bytes << " ± " << se_bytes << " at interval " << interval << ", " << runs << " runs";
  EXPECT_LE(std::abs(count - blocks), kSigmas * se_count) << "estimate " << count << " ± " << se_count;
  // And the error itself is what Poisson sampling predicts, not inflated to
  // pass: the stated error goes as the square root of the samples taken,
  // which stay within 0.6^2 and 1.6^2 of their mean except with
  // probability below 1e-30 at 600 samples or more.
  const double p = -std::expm1(-kLeakSize / (interval == "64k" ? 65536.0 : 524288.0));
  const double expected_se = std::sqrt(blocks * p) * (1 / p) * std::sqrt(1 - p) * kLeakSize;
  EXPECT_GT(se_bytes, expected_se * 0.6);
  EXPECT_LT(se_bytes, expected_se * 1.6);
}

// 4 runs: ~1,200 samples, a band of 20 %.
TEST(SamplingAccuracy, KnownLeakIsCoveredByItsErrorAt64k) { ExpectLeakEstimatedWithinError("64k", 4); }

// 32 runs: ~1,200 samples, a band of 20 %.
TEST(SamplingAccuracy, KnownLeakIsCoveredByItsErrorAtTheDefault) { ExpectLeakEstimatedWithinError("512k", 32); }

TEST(SamplingAccuracy, BalancedChurnStaysWithinNoise) {
  TempDir dir;
  const nlohmann::json diff = SampledDiff("64k", dir);
  double bytes = 0, var = 0;
  int churn_samples = 0;
  for (const auto& site : diff["sites"]) {
    for (const auto& frame : site["frames"]) {
      if (frame.value("function", "") != "churn_balanced") continue;
      bytes += Field(site, "bytes");
      var += std::pow(Field(site, "stderr_bytes"), 2);
      ++churn_samples;
      break;
    }
  }
  // Every sampled churn block was freed with the weight it was counted with,
  // so what remains is at most noise.
  EXPECT_LE(std::abs(bytes), 4 * std::sqrt(var) + 1) << churn_samples << " churn sites";
}

// A program whose reallocs depend on malloc_usable_size (redis's listpacks)
// behaves the same whether a block is sampled or not, so the estimate covers
// what exact mode counts: on glibc and on jemalloc (whose page-aligned
// sampled blocks once said 4,032 usable bytes for a malloc(200), and whose
// sampled blocks then said the bytes asked for: 1.0 MiB estimated for 29.6).
TEST(SamplingAccuracy, AProgramThatFillsUsableSizeIsEstimatedWithinItsError) {
  for (const std::string allocator : {"", LEAKTRACE_TEST_JEMALLOC}) {
    auto live = [&](const std::string& sample, double* stderr_bytes) {
      TempDir dir;
      std::vector<std::string> env = {"LD_PRELOAD=" + LibraryPath() + (allocator.empty() ? "" : ":" + allocator),
                                      "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=" + sample};
      const CommandResult r = leaktrace::testing::Run({ProgramPath("usable_growth")}, env);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, "ok\n");
      std::string dump;
      for (const auto& e : std::filesystem::directory_iterator(dir.path())) dump = e.path().string();
      const CommandResult report = Leaktrace({"report", "--format", "json", dump});
      EXPECT_EQ(report.exit_code, 0) << report.err;
      double bytes = 0, var = 0;
      const nlohmann::json parsed = nlohmann::json::parse(report.out);
      for (const auto& site : parsed["sites"]) {
        bool grown = false;
        for (const auto& frame : site["frames"]) grown |= frame.value("function", "") == "grow_like_a_listpack";
        if (!grown || site.value("resource", "") != "heap") continue;
        bytes += Field(site, "bytes");
        var += std::pow(Field(site, "stderr_bytes"), 2);
      }
      *stderr_bytes = std::sqrt(var);
      return bytes;
    };
    SCOPED_TRACE(allocator.empty() ? "glibc" : allocator);
    double none = 0, se = 0;
    const double exact = live("1", &none);
    ASSERT_GT(exact, 5000 * 6000) << "every buffer is kept";
    // 16k: each of the 5,000 buffers of ~7,000 bytes is sampled with
    // p = 1 - exp(-7000 / 16384), ~1,700 samples; kSigmas of them fail an
    // honest estimate with probability ~3e-11 (as a binomial count of that
    // size), where 4 at 64k (~500 samples) failed with ~1e-4. The band, 14 %,
    // still sees the bugs this guards against (30 times too little).
    const double estimate = live("16k", &se);
    ASSERT_GT(se, 0);
    EXPECT_LE(std::abs(estimate - exact), kSigmas * se)
        << "estimate " << estimate << " ± " << se << ", exact " << exact;
  }
}

}  // namespace
}  // namespace leaktrace::testing

namespace leaktrace::testing {
namespace {

// Buffers grown in small steps across the sampling interval, shrunk and
// grown again (realloc_buffers.c): above 4 KiB a realloc offers the sampler
// only a block's growth and a sampled block stays sampled, with the weight
// 1/(1 - exp(-offered/T)) of all the bytes it was ever offered. The live
// estimate must cover what the program says it keeps, in count and bytes.
// A weight from the size asked (wrong after a shrink: at 64k, a block
// offered 256 KiB and shrunk to 96 KiB would weigh 1.29 where 1.02 is due)
// or from the last growth alone is off by more than kSigmas standard
// errors of the pooled runs.
//
// Runs pooled, and why so many: at 64k nearly every buffer is sampled, and
// the count's error comes from the ~12 a run that are not, a Poisson-like
// count: with 4 runs (~47) it strayed past 4 standard errors with
// probability 1e-4, past 7 with 5e-10, with 8 runs (~94) past 7 with
// 1.3e-10. At 512k each run's error is ~7 % (measured), and 12 runs keep
// kSigmas of the pooled error near the 15 % that 4 standard errors of 4
// runs were, with ~1,800 samples (a binomial count that size strays past 7
// standard errors with probability ~3e-11).
TEST(SamplingAccuracy, ReallocatedBuffersAreEstimatedWithinTheirError) {
  struct Case {
    const char* interval;
    int runs;
    double max_relative_error;  // what the pooled standard error stays under, with a wide margin
  };
  for (const Case c : {Case{"64k", 8, 0.1}, Case{"512k", 12, 0.3}}) {
    const std::string interval = c.interval;
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + interval);
    double est_count = 0, est_bytes = 0, var_count = 0, var_bytes = 0, true_count = 0, true_bytes = 0;
    // Several runs pooled: each is an independent draw of the sample.
    for (int run = 0; run < c.runs; ++run) {
      TempDir dir;
      const CommandResult r = leaktrace::testing::Run(
          {ProgramPath("realloc_buffers")},
          {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=" + interval});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      double count = 0, bytes = 0;
      ASSERT_EQ(std::sscanf(r.out.c_str(), "%lf %lf", &count, &bytes), 2) << r.out;
      true_count += count;
      true_bytes += bytes;
      std::string dump;
      for (const auto& e : std::filesystem::directory_iterator(dir.path())) dump = e.path().string();
      const CommandResult report = Leaktrace({"report", "--format", "json", dump});
      ASSERT_EQ(report.exit_code, 0) << report.err;
      const nlohmann::json parsed = nlohmann::json::parse(report.out);
      for (const auto& site : parsed["sites"]) {
        bool ours = false;
        for (const auto& frame : site["frames"]) ours |= frame.value("function", "") == "grow_buffers";
        if (!ours || site.value("resource", "") != "heap") continue;
        est_count += Field(site, "count");
        est_bytes += Field(site, "bytes");
        var_count += std::pow(Field(site, "stderr_count"), 2);
        var_bytes += std::pow(Field(site, "stderr_bytes"), 2);
      }
    }
    const double se_count = std::sqrt(var_count), se_bytes = std::sqrt(var_bytes);
    ASSERT_GT(se_bytes, 0);
    EXPECT_LE(std::abs(est_count - true_count), kSigmas * se_count + 1)
        << "count " << est_count << " ± " << se_count << ", truth " << true_count;
    EXPECT_LE(std::abs(est_bytes - true_bytes), kSigmas * se_bytes)
        << "bytes " << est_bytes << " ± " << se_bytes << ", truth " << true_bytes;
    // Sharp enough to see a bias of several per cent: the errors are small
    // (pooled, measured: about 0.5 % at 64k over 8 runs, 2 % at 512k over 12).
    EXPECT_LT(se_count, c.max_relative_error * true_count) << se_count;
    EXPECT_LT(se_bytes, c.max_relative_error * true_bytes) << se_bytes;
  }
}

}  // namespace
}  // namespace leaktrace::testing
