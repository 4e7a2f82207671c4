// fork while other threads are inside leaktrace's unwinding. libunwind's own
// mutexes and the loader's dl_load_write_lock (taken by dl_iterate_phdr,
// which libunwind calls) are not reset by glibc 2.36's fork, so a child
// forked in the middle of another thread's unwind used to block forever on
// its first unwind. The fork gate (preload/internal/fork_gate.h) keeps forks and
// unwinds apart; this test is the proof on a real program.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

namespace fs = std::filesystem;

TEST(ForkUnwind, ChildrenOfAParentUnwindingOnEveryThreadFinish) {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const CommandResult r = testing::Run({ProgramPath("fork_unwind"), "40"},
                                       {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=1",
                                        "LEAKTRACE_ON_EXIT=all"});  // the young children's exit dumps too
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Each child gets 10 s before the program calls it hung and kills it.
  EXPECT_NE(r.out.find("children 40 hung 0 failed 0"), std::string::npos) << r.out << " after " << seconds.count()
                                                                           << " s";
  std::vector<std::string> dumps;
  for (const auto& e : fs::directory_iterator(dir.path())) dumps.push_back(e.path().string());
  ASSERT_EQ(dumps.size(), 41u) << "40 children and the parent each write an exit dump";
  int children_with_leak = 0;
  for (const std::string& d : dumps) {
    const CommandResult report = Leaktrace({"report", "--format", "json", d});
    ASSERT_EQ(report.exit_code, 0) << d << ": " << report.err;
    const Growth g = GrowthAt(nlohmann::json::parse(report.out), "child_leak", "fork_unwind");
    if (g.count == 3 && g.bytes == 3 * 333) ++children_with_leak;
  }
  EXPECT_EQ(children_with_leak, 40) << "every child tracks its own allocations exactly";
}

}  // namespace
}  // namespace leaktrace::testing
