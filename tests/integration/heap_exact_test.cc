// Exact mode (LEAKTRACE_SAMPLE=1), end to end: real programs under the real
// library, snapshots by `leaktrace snapshot`, numbers from `leaktrace diff`.
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

// Exact mode unless told otherwise.
Snapshots RunExact(const std::string& program, const TempDir& dir,
                   const std::vector<std::string>& env = {"LEAKTRACE_SAMPLE=1"}) {
  return RunBetweenCheckpoints({ProgramPath(program)}, dir, env);
}

TEST(HeapExact, CProgramLeaksAreCountedExactlyAndChurnIsZero) {
  TempDir dir;
  const Snapshots s = RunExact("leaky_c", dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);

  const Growth by_malloc = GrowthAt(diff, "leak_with_malloc", "leaky_c");
  EXPECT_EQ(by_malloc.count, 100);
  EXPECT_EQ(by_malloc.bytes, 100 * 48);
  const Growth by_calloc = GrowthAt(diff, "leak_with_calloc", "leaky_c");
  EXPECT_EQ(by_calloc.count, 25);
  EXPECT_EQ(by_calloc.bytes, 25 * 10 * 8);
  const Growth by_realloc = GrowthAt(diff, "leak_with_realloc", "leaky_c");
  EXPECT_EQ(by_realloc.count, 20);
  EXPECT_EQ(by_realloc.bytes, 20 * 200);
  const Growth by_memalign = GrowthAt(diff, "leak_with_posix_memalign", "leaky_c");
  EXPECT_EQ(by_memalign.count, 10);
  EXPECT_EQ(by_memalign.bytes, 10 * 256);

  const Growth churn = GrowthThrough(diff, "churn_balanced");
  EXPECT_EQ(churn.bytes, 0) << "balanced churn shows growth";
  EXPECT_EQ(churn.count, 0);

  // The biggest growth comes first.
  ASSERT_FALSE(diff["sites"].empty());
  EXPECT_EQ(diff["sites"][0]["bytes"].get<double>(), 100 * 48);
}

// Nothing of leaktrace's own making in a C program's report: the library
// loads no C++ runtime (libstdc++ used to allocate its exception pool, a
// 70 KiB site, and every command warned that it had no debug information).
TEST(HeapExact, ACProgramsReportHoldsNothingOfLeaktracesOwn) {
  TempDir dir;
  const Snapshots s = RunExact("leaky_c", dir);
  ASSERT_EQ(s.exit_code, 0);
  const CommandResult r = Leaktrace({"report", "--format", "json", s.after});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("libstdc++"), std::string::npos) << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out);
  for (const auto& site : report["sites"])
    for (const auto& frame : site["frames"]) {
      const std::string module = frame.value("module", "");
      EXPECT_EQ(module.find("libstdc++"), std::string::npos) << site.dump();
      EXPECT_EQ(module.find("libleaktrace"), std::string::npos) << site.dump();
      EXPECT_EQ(module.find("libunwind"), std::string::npos) << site.dump();
    }
}

TEST(HeapExact, CxxNewStringVectorAndExceptions) {
  TempDir dir;
  const Snapshots s = RunExact("leaky_cxx", dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);

  const Growth nodes = GrowthAt(diff, "leak_nodes()", "leaky_cxx");
  EXPECT_EQ(nodes.count, 40);
  EXPECT_EQ(nodes.bytes, 40 * 64);
  const Growth arrays = GrowthAt(diff, "leak_arrays()", "leaky_cxx");
  EXPECT_EQ(arrays.count, 15);
  EXPECT_EQ(arrays.bytes, 15 * 37 * 8);
  const Growth strings = GrowthAt(diff, "leak_strings()", "leaky_cxx");
  EXPECT_EQ(strings.count, 30 * 2);  // the string object and its buffer
  EXPECT_EQ(strings.bytes, 30 * (sizeof(std::string) + 101));
  const Growth vectors = GrowthAt(diff, "leak_vectors()", "leaky_cxx");
  EXPECT_EQ(vectors.count, 12 * 2);  // the vector object and its buffer
  EXPECT_EQ(vectors.bytes, 12 * (sizeof(std::vector<int>) + 50 * sizeof(int)));

  const Growth churn = GrowthThrough(diff, "churn_balanced()");
  EXPECT_EQ(churn.bytes, 0);
  EXPECT_EQ(churn.count, 0);
  const Growth exceptions = GrowthThrough(diff, "throw_and_catch(int)");
  EXPECT_EQ(exceptions.bytes, 0);
}

TEST(HeapExact, LeaksShowOnJemalloc) {
  TempDir dir;
  const Snapshots s = RunExact("leaky_c", dir,
                                            {"LEAKTRACE_SAMPLE=1", "LD_PRELOAD=" LEAKTRACE_TEST_JEMALLOC});
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);
  const Growth by_malloc = GrowthAt(diff, "leak_with_malloc", "leaky_c");
  EXPECT_EQ(by_malloc.count, 100);
  EXPECT_EQ(by_malloc.bytes, 100 * 48);
  const Growth by_memalign = GrowthAt(diff, "leak_with_posix_memalign", "leaky_c");
  EXPECT_EQ(by_memalign.count, 10);
  EXPECT_EQ(GrowthThrough(diff, "churn_balanced").bytes, 0);
}

// jemalloc preloaded after leaktrace: its operator new[] allocates within
// jemalloc, its operator delete[] calls free(), and exact mode read a
// header in front of each such block. One that begins a page of a fresh
// extent has nothing mapped in front of it: SIGSEGV, 5 of 5 runs, with
// four threads. Such a block is now asked about before its header is read.
TEST(HeapExact, JemallocsOwnNewAndDeleteRunUnderExactMode) {
  for (int run = 0; run < 2; ++run) {
    TempDir dir;
    const CommandResult r =
        leaktrace::testing::Run({ProgramPath("new_delete_threads")},
                                {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_DIR=" + dir.path(),
                                 "LD_PRELOAD=" + LibraryPath() + ":" LEAKTRACE_TEST_JEMALLOC});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
  }
}

}  // namespace
}  // namespace leaktrace::testing
