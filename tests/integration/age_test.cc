// Ages, end to end: a real program leaks a batch of heap blocks, descriptors
// and mappings, waits two seconds, leaks a second batch from the same call
// sites; `leaktrace report/diff/check --older-than 1s` on real snapshots
// must see the first batch only: exactly for descriptors and mappings,
// within the stated standard errors for the heap.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

constexpr double kBlocks = 2000, kBlockSize = 4096, kFds = 5, kMaps = 3, kMapSize = 65536;

struct AgingSnapshots {
  std::string first, second;
  int exit_code = -1;
};

AgingSnapshots RunAging(const TempDir& dir, const std::string& sample) {
  AgingSnapshots s;
  TrackedProgram p({ProgramPath("aging")}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
  p.ExpectCheckpoint("first");
  s.first = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("second");
  s.second = p.Snapshot();
  p.Continue();
  s.exit_code = p.Wait();
  return s;
}

nlohmann::json Json(const std::vector<std::string>& args, int expected_exit = 0) {
  const CommandResult r = Leaktrace(args);
  EXPECT_EQ(r.exit_code, expected_exit) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out;
    return nlohmann::json::object();
  }
}

// The one site of `resource` whose innermost frame in `program` is `function`.
nlohmann::json SiteAt(const nlohmann::json& doc, const std::string& function, const std::string& resource,
                      const std::string& program = "aging") {
  nlohmann::json found;
  for (const auto& site : doc["sites"]) {
    if (site.value("resource", "") != resource) continue;
    for (const auto& frame : site["frames"]) {
      const std::string module = frame.value("module", "");
      const std::string tail = "/" + program;
      if (module.size() < tail.size() || module.compare(module.size() - tail.size(), tail.size(), tail) != 0) continue;
      if (frame.value("function", "") == function) {
        EXPECT_TRUE(found.is_null()) << "two " << resource << " sites at " << function;
        found = site;
      }
      break;
    }
  }
  return found;
}

double Count(const nlohmann::json& site) { return site.is_null() ? 0 : site["count"].get<double>(); }
double Bytes(const nlohmann::json& site) { return site.is_null() ? 0 : site["bytes"].get<double>(); }

// Descriptors and mappings: exact in every mode.
void ExpectExactResources(const nlohmann::json& all, const nlohmann::json& old) {
  EXPECT_EQ(Count(SiteAt(all, "leak_fds", "fd")), 2 * kFds);
  EXPECT_EQ(Count(SiteAt(old, "leak_fds", "fd")), kFds);
  EXPECT_EQ(Count(SiteAt(all, "dup_one", "fd")), 1);
  EXPECT_TRUE(SiteAt(old, "dup_one", "fd").is_null()) << "a dup is a new descriptor";
  // The first mapping grew by mremap after the pause: still old, bigger.
  EXPECT_EQ(Count(SiteAt(all, "leak_maps", "mmap")), 2 * kMaps);
  EXPECT_EQ(Bytes(SiteAt(all, "leak_maps", "mmap")), (2 * kMaps + 1) * kMapSize);
  EXPECT_EQ(Count(SiteAt(old, "leak_maps", "mmap")), kMaps);
  EXPECT_EQ(Bytes(SiteAt(old, "leak_maps", "mmap")), (kMaps + 1) * kMapSize);
  // The oldest descriptor was opened before the two-second pause.
  const double oldest = SiteAt(all, "leak_fds", "fd").value("oldest_age_s", -1.0);
  EXPECT_GE(oldest, 1.9);
  EXPECT_LT(oldest, 60);
  EXPECT_EQ(old.value("older_than_s", 0.0), 1.0);
}

// How many stated standard errors an aged estimate may stray. Each block is
// aged on its own with p = 1 - exp(-4096 / 16 KiB), so the aged samples are
// a binomial count, and an honest estimate studentized by its stated error
// has a heavier tail than a normal one: at 4 standard errors it failed with
// probability ~1e-4 per check (~2e-4 with the ~120 samples of 64k). At 7,
// computed exactly from the binomial: 2.3e-10 with ~440 samples (2,000
// blocks), 6e-11 with ~880; the band, about 30 % and 20 %, still tells one
// batch from two, or from none.
constexpr double kSigmas = 7;

// An aged site's estimate: `blocks` blocks of `bytes` in all, within kSigmas
// standard errors, the standard error of the count under `max_relative_se`
// of it (else too few aged samples to say anything).
void ExpectAgedEstimate(const nlohmann::json& heap, double blocks, double bytes, double max_relative_se) {
  ASSERT_FALSE(heap.is_null());
  const double count = heap["count"].get<double>(), se = heap["stderr_count"].get<double>();
  const double estimate = heap["bytes"].get<double>(), se_bytes = heap["stderr_bytes"].get<double>();
  EXPECT_GT(se, 0);
  EXPECT_LT(se, max_relative_se * blocks) << "too few aged samples to say anything";
  EXPECT_NEAR(count, blocks, kSigmas * se) << "older than 1 s: ~" << count << " ± " << se;
  EXPECT_NEAR(estimate, bytes, kSigmas * se_bytes);
}

// The heap estimate of the first batch.
void ExpectFirstHeapBatch(const nlohmann::json& old) {
  ExpectAgedEstimate(SiteAt(old, "leak_heap", "heap"), kBlocks, kBlocks * kBlockSize, 0.25);
}

// Sampled at 16k, exact mode's aging rate: ~440 of the first batch's 2,000
// blocks sampled (at 64k, ~120: too few for kSigmas to be a useful band).
TEST(Ages, SampledModeReportsOnlyTheFirstBatchAsOld) {
  TempDir dir;
  const AgingSnapshots s = RunAging(dir, "16k");
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json all = Json({"report", "--format", "json", s.second});
  const nlohmann::json old = Json({"report", "--format", "json", "--older-than", "1s", s.second});
  ExpectExactResources(all, old);
  ExpectFirstHeapBatch(old);
  // Sampled heap: the plain figure holds both batches (4000 ± noise) and the
  // old one is a part of the same samples.
  EXPECT_LT(Count(SiteAt(old, "leak_heap", "heap")), Count(SiteAt(all, "leak_heap", "heap")));

  // --older-than 0 is the plain report.
  const nlohmann::json zero = Json({"report", "--format", "json", "--older-than", "0", s.second});
  EXPECT_EQ(zero["sites"], all["sites"]);
  EXPECT_EQ(zero["summary"], all["summary"]);
}

TEST(Ages, ExactModeKeepsExactCountsAndEstimatesTheOldHeap) {
  TempDir dir;
  const AgingSnapshots s = RunAging(dir, "1");
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json all = Json({"report", "--format", "json", s.second});
  const nlohmann::json old = Json({"report", "--format", "json", "--older-than", "1s", s.second});
  EXPECT_TRUE(all["exact"].get<bool>());
  EXPECT_FALSE(old["exact"].get<bool>()) << "old heap figures of an exact dump are estimates";
  EXPECT_EQ(Count(SiteAt(all, "leak_heap", "heap")), 2 * kBlocks);
  ExpectExactResources(all, old);
  ExpectFirstHeapBatch(old);
  const nlohmann::json zero = Json({"report", "--format", "json", "--older-than", "0", s.second});
  EXPECT_EQ(zero["sites"], all["sites"]);
}

// A realloc's growth continues the block's age decision (heap_paths.cc,
// ReageExact) instead of drawing afresh at every step: the old heap of
// buffers grown in 64-byte steps must still be estimated within its error,
// both for buffers that only grew and for buffers shrunk at the end.
TEST(Ages, ExactModeEstimatesBuffersGrownByReallocWithinTheirError) {
  TempDir dir;
  TrackedProgram p({ProgramPath("aging_realloc")}, dir.path(), {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("grown");
  p.Continue();
  p.ExpectCheckpoint("aged");
  const std::string aged = p.Snapshot();
  p.Continue();
  ASSERT_EQ(p.Wait(), 0);
  const nlohmann::json all = Json({"report", "--format", "json", aged});
  const nlohmann::json old = Json({"report", "--format", "json", "--older-than", "1s", aged});
  constexpr double kFinal = 4096;
  // aging_realloc.c's kBuffers and kBuffers / 2: ~880 and ~440 aged samples.
  for (const auto& [function, buffers] : {std::pair<std::string, double>{"grow_buffers", 4000},
                                          std::pair<std::string, double>{"grow_then_shrink", 2000}}) {
    SCOPED_TRACE(function);
    // Exact: every realloc booked as a free and an allocation.
    EXPECT_EQ(Count(SiteAt(all, function, "heap", "aging_realloc")), buffers);
    EXPECT_EQ(Bytes(SiteAt(all, function, "heap", "aging_realloc")), buffers * kFinal);
    ExpectAgedEstimate(SiteAt(old, function, "heap", "aging_realloc"), buffers, buffers * kFinal, 0.3);
  }
}

// A realloc keeps the block's birth (docs/cli.md, "Age"): buffers
// allocated, then grown by realloc more than a second later (in place
// within their headroom and moved), are as old as their allocation, so a
// leak that grows buffers shows under --older-than. In both modes, at the
// realloc's site. The buffers are large enough for every one to be
// sampled (aged) at its allocation: all of them are old, with weights of
// 1 + 1e-14.
TEST(Ages, ABufferGrownByReallocKeepsTheBirthOfItsAllocation) {
  constexpr double kLateBuffers = 50, kLateFinal = 640 * 1024;
  for (const std::string sample : {"16k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    TrackedProgram p({ProgramPath("aging_realloc"), "late"}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("allocated");
    usleep(1500 * 1000);
    p.Continue();
    p.ExpectCheckpoint("grown");
    const std::string grown = p.Snapshot();
    p.Continue();
    ASSERT_EQ(p.Wait(), 0);
    const nlohmann::json old = Json({"report", "--format", "json", "--older-than", "1s", grown});
    const nlohmann::json site = SiteAt(old, "grow_late", "heap", "aging_realloc");
    ASSERT_FALSE(site.is_null()) << "no buffer older than 1 s";
    EXPECT_NEAR(Count(site), kLateBuffers, 1e-6);
    EXPECT_NEAR(Bytes(site), kLateBuffers * kLateFinal, 1);
  }
}

TEST(Ages, DiffAndCheckJudgeTheOldPopulation) {
  TempDir dir;
  const AgingSnapshots s = RunAging(dir, "16k");  // as SampledModeReportsOnlyTheFirstBatchAsOld
  ASSERT_EQ(s.exit_code, 0);
  // At the first snapshot the first batch was brand new; at the second it
  // is two seconds old: the old population grew by exactly one batch.
  const nlohmann::json diff = Json({"diff", "--format", "json", "--older-than", "1s", s.first, s.second});
  EXPECT_EQ(Count(SiteAt(diff, "leak_fds", "fd")), kFds);
  EXPECT_EQ(Count(SiteAt(diff, "leak_maps", "mmap")), kMaps);
  EXPECT_TRUE(SiteAt(diff, "dup_one", "fd").is_null());
  ExpectFirstHeapBatch(diff);

  const CommandResult tight =
      Leaktrace({"check", "--older-than", "1s", "--max-fds", std::to_string(int(kFds) - 1), s.first, s.second});
  EXPECT_EQ(tight.exit_code, 1) << tight.out << tight.err;
  const CommandResult loose =
      Leaktrace({"check", "--older-than", "1s", "--max-fds", std::to_string(int(kFds)), s.first, s.second});
  EXPECT_EQ(loose.exit_code, 0) << loose.out << loose.err;
  // Without the filter the dup'ed descriptor is growth too.
  const CommandResult plain = Leaktrace({"check", "--max-fds", std::to_string(int(kFds)), s.first, s.second});
  EXPECT_EQ(plain.exit_code, 1) << plain.out;

  const CommandResult bad = Leaktrace({"report", "--older-than", "soon", s.second});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--older-than: 'soon' is not a duration"), std::string::npos) << bad.err;
  const CommandResult trend = Leaktrace({"check", "--trend", "--older-than", "1s", s.first, s.second, s.second});
  EXPECT_EQ(trend.exit_code, 2) << trend.err;
}

}  // namespace
}  // namespace leaktrace::testing
