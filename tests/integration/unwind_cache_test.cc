// The unwind cache keys unwinds by the return addresses on the stack; an
// allocation must still be charged to its own call chain when several chains
// reach malloc at the same stack position (more of them than the cache keeps
// there), and at every recursion depth. Exact mode, so counts are exact.
#include <gtest/gtest.h>

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
    if (frame.value("function", "").rfind("route_", 0) == 0) return true;
  return false;
}

TEST(UnwindCache, SameStackPositionDifferentChainsAreKeptApart) {
  TempDir dir;
  TrackedProgram p({ProgramPath("same_depth_stacks")}, dir.path(), {"LEAKTRACE_SAMPLE=1"});
  p.ExpectCheckpoint("before");
  const std::string before = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  const std::string after = p.Snapshot();
  p.Continue();
  ASSERT_EQ(p.Wait(), 0);
  const nlohmann::json diff = DiffJson(before, after);

  EXPECT_EQ(GrowthThrough(diff, "route_a").count, 3000);
  EXPECT_EQ(GrowthThrough(diff, "route_b").count, 1500);
  for (const char* route : {"route_c", "route_d", "route_f", "route_g", "route_h"})
    EXPECT_EQ(GrowthThrough(diff, route).count, 600) << route;
  EXPECT_EQ(GrowthThrough(diff, "route_e").count, 1200);
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

}  // namespace
}  // namespace leaktrace::testing
