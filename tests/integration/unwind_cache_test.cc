// The unwind cache keys unwinds by the return addresses on the stack; an
// allocation must still be charged to its own call chain when several chains
// reach malloc at the same stack position (more of them than the cache keeps
// there), and at every recursion depth. Exact mode, so counts are exact.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

int Occurrences(const nlohmann::json& site, const std::string& function) {
  int n = 0;
  for (const auto& frame : site["frames"])
    if (frame.value("function", "") == function) ++n;
  return n;
}

bool ThroughARoute(const nlohmann::json& site) {
  for (const auto& frame : site["frames"])
    if (frame.value("function", "").rfind("route_", 0) == 0 || frame.value("function", "").rfind("crowd_", 0) == 0)
      return true;
  return false;
}

TEST(UnwindCache, SameStackPositionDifferentChainsAreKeptApart) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("same_depth_stacks")}, dir, {"LEAKTRACE_SAMPLE=1"});
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);

  EXPECT_EQ(GrowthThrough(diff, "route_a").count, 3000);
  EXPECT_EQ(GrowthThrough(diff, "route_b").count, 1500);
  for (const char* route : {"route_c", "route_d", "route_f", "route_g", "route_h"})
    EXPECT_EQ(GrowthThrough(diff, route).count, 600) << route;
  EXPECT_EQ(GrowthThrough(diff, "route_e").count, 1200);
  // 24 more chains at that position, through the overflow ways of its set.
  for (int r = 0; r < 24; ++r) {
    const std::string route = "crowd_" + std::string(r < 10 ? "0" : "") + std::to_string(r);
    EXPECT_EQ(GrowthThrough(diff, route).count, 600) << route;
  }
  // recurse(d) ends in a tail call to common_alloc, so its stack holds d
  // recurse frames (none for d = 0, where main seems to call common_alloc).
  double by_depth[6] = {};
  for (const auto& site : diff["sites"]) {
    if (Occurrences(site, "common_alloc") != 1 || ThroughARoute(site)) continue;
    const int depth = Occurrences(site, "recurse");
    if (depth >= 0 && depth < 6) by_depth[depth] += site.value("count", 0.0);
  }
  for (int d = 0; d < 6; ++d) EXPECT_EQ(by_depth[d], 500) << "recursion depth " << d;
}

// Frames of dynamic size: in alloca_chains the second chain's stack holds,
// stale, every return address the first chain's cache entry checks (the
// library before this check charged all 5,000 of through_q's allocations to
// through_p). Two things stop it. An entry whose slots were found from a
// frame pointer also compares the saved frame pointer each depends on
// ("guards", unwind_cache.cc "Rigid chains"), which differs between the two
// chains: no wrong hit at all. Where the frame pointer cannot be guarded
// (taken from a register, or saved below the lookup's frame: it depends on
// how the library was compiled), the cache checks hits 1, 2, 4 ... 1024 of
// the entry, then every 1024th, against a full unwind, and on the mismatch
// never trusts that position again: a wrong hit is then caught within as
// many hits as the entry had before it (here 3 + 1), and the dump's health
// counts it.
TEST(UnwindCache, AChainWithAllocaIsNeverChargedToAnother) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("alloca_chains")}, dir, {"LEAKTRACE_SAMPLE=1"});
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);
  const double wrong = GrowthThrough(diff, "through_p").count - 3;
  EXPECT_GE(wrong, 0);
  EXPECT_LE(wrong, 4) << "through_q's allocations charged to through_p";
  EXPECT_EQ(GrowthThrough(diff, "through_q").count, 5000 - wrong);
  EXPECT_EQ(GrowthThrough(diff, "leaf").count, 5003);
  const CommandResult report = Leaktrace({"report", "--format", "json", s.after});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const nlohmann::json health = nlohmann::json::parse(report.out)["dumps"][0]["health"];
  // Guarded: nothing charged wrongly. Checked: the mismatch is counted.
  EXPECT_TRUE(wrong == 0 || health.value("unwind_cache_mismatches", 0) >= 1)
      << "wrong " << wrong << ", " << health.dump();
}

// The same two chains in fork children: the first children teach the parent
// through_p's chain, and each later child's first hit on it is through_q's
// allocation over the stale slot. A child that checks the hit (the 1st, 2nd,
// 4th ... child after the lesson) and finds it wrong tells the parent, which
// drops the chain: one child's mismatch must protect the children after it,
// as one process's protects its later hits.
TEST(UnwindCache, AChainWithAllocaInForkChildrenIsNeverChargedToAnother) {
  constexpr int kTeachers = 3, kChildren = 20;  // FORK_TEACHERS, FORK_CHILDREN in alloca_chains.c
  TempDir dir;
  const CommandResult run = testing::Run(
      {ProgramPath("alloca_chains"), "fork"},
      {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=all"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  double through_p = 0, through_q = 0, leaf = 0;
  int dumps = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().extension() != ".dump") continue;
    ++dumps;
    const CommandResult r = Leaktrace({"report", "--format", "json", e.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json report = nlohmann::json::parse(r.out);
    through_p += GrowthThrough(report, "through_p").count;
    through_q += GrowthThrough(report, "through_q").count;
    leaf += GrowthThrough(report, "leaf").count;
  }
  EXPECT_EQ(dumps, kTeachers + kChildren + 1);  // every child's, and the parent's
  EXPECT_EQ(leaf, kTeachers + kChildren);
  const double wrong = through_p - kTeachers;  // through_q's allocations charged to through_p
  EXPECT_GE(wrong, 0);
  EXPECT_LE(wrong, 2) << "through_q's allocations charged to through_p in fork children";
  EXPECT_EQ(through_q, kChildren - wrong);
}

}  // namespace
}  // namespace leaktrace::testing
