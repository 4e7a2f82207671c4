// The stack budget (LEAKTRACE_MAX_STACKS, docs/preload.md "What a dump
// counts"): a program whose allocations come from ever-new call stacks grew
// the tracker and every dump without bound (a stack is kept for the
// process's life); now stacks past the budget count at their innermost
// frames, nothing lost, and the report says so.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

namespace fs = std::filesystem;

std::string OnlyDump(const std::string& dir) {
  std::vector<std::string> dumps;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".dump") dumps.push_back(entry.path().string());
  EXPECT_EQ(dumps.size(), 1u);
  return dumps.empty() ? std::string() : dumps[0];
}

uint64_t Health(const nlohmann::json& report, const std::string& name) {
  const nlohmann::json& health = report["dumps"][0]["health"];
  return health.contains(name) ? health[name].get<uint64_t>() : 0;
}

// 50,000 calls through random paths 12 levels deep: some 50,000 distinct
// stacks (4^12 paths), 5,000 blocks kept. With a budget of 1,000 the table
// holds at most about 2,000 (whole, then 8 frames) plus the one-frame ones;
// every kept block is still counted, to the byte, at leaf_alloc.
TEST(StackBudget, StacksPastTheBudgetCountAtTheirInnermostFramesAndNothingIsLost) {
  TempDir dir;
  const CommandResult r = leaktrace::testing::Run({ProgramPath("distinct_stacks"), "50000", "10"},
                              {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=1",
                               "LEAKTRACE_MAX_STACKS=1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out, "kept 5000\n");
  EXPECT_EQ(r.err, "");
  const std::string dump = OnlyDump(dir.path());
  const CommandResult json = Leaktrace({"report", "--format", "json", dump});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json report = nlohmann::json::parse(json.out);

  EXPECT_LE(Health(report, "stacks"), 2100u) << "the budget bounds the stack table";
  EXPECT_GT(Health(report, "folded_stacks"), 40000u) << "most of the 50,000 paths came after the budget";
  EXPECT_EQ(Health(report, "max_stacks"), 1000u);
  EXPECT_EQ(Health(report, "dropped_stacks"), 0u);

  const Growth kept = GrowthAt(report, "leaf_alloc", "distinct_stacks");
  EXPECT_EQ(kept.count, 5000) << "every kept block counted, folded or not";
  EXPECT_EQ(kept.bytes, 5000 * 64);
  int folded = 0;
  for (const auto& site : report["sites"]) folded += site.value("folded", false) ? 1 : 0;
  EXPECT_GT(folded, 0);

  const CommandResult text = Leaktrace({"report", dump});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("stacks folded in distinct_stacks "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("innermost frames only"), std::string::npos) << text.out;
}

// The default budget (65,536) folds nothing in a program of fewer stacks.
TEST(StackBudget, TheDefaultBudgetKeepsEveryStackOfAnOrdinaryProgramWhole) {
  TempDir dir;
  const CommandResult r = leaktrace::testing::Run({ProgramPath("distinct_stacks"), "5000", "10"},
                              {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const CommandResult json = Leaktrace({"report", "--format", "json", OnlyDump(dir.path())});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json report = nlohmann::json::parse(json.out);
  EXPECT_GT(Health(report, "stacks"), 4000u);
  EXPECT_EQ(Health(report, "folded_stacks"), 0u);
  EXPECT_EQ(Health(report, "max_stacks"), 65536u);
}

// A malformed budget leaves the library inert, saying why, as every
// malformed setting does; `leaktrace run` refuses it before the run.
TEST(StackBudget, AMalformedBudgetIsRefused) {
  for (const std::string bad : {"0", "banana", "17m", "-5"}) {
    SCOPED_TRACE(bad);
    TempDir dir;
    const CommandResult r = leaktrace::testing::Run({ProgramPath("distinct_stacks"), "100", "10"},
                                {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(),
                                 "LEAKTRACE_MAX_STACKS=" + bad});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "kept 10\n");
    EXPECT_NE(r.err.find("LEAKTRACE_MAX_STACKS=" + bad + " is not a count from 1 to 16m; tracking disabled"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(fs::is_empty(dir.path())) << "an inert library writes no dump";

    const CommandResult run = leaktrace::testing::Run({LEAKTRACE_TEST_CLI, "run", "-o", dir.path(), "--", ProgramPath("distinct_stacks"),
                                   "100", "10"},
                                  {"LEAKTRACE_MAX_STACKS=" + bad});
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_NE(run.err.find("LEAKTRACE_MAX_STACKS=" + bad + ": not a count from 1 to 16m"), std::string::npos)
        << run.err;
  }
}

}  // namespace
}  // namespace leaktrace::testing
