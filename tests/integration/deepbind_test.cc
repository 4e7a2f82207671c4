// RTLD_DEEPBIND: a plugin whose malloc/free would bind to libc first must
// still meet only leaktrace's hooks (else blocks with leaktrace's headers
// reach libc's free), and dlopen must keep seeing the program as its caller.
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

void RunDeepbind(const std::string& sample) {
  TempDir dir;
  TrackedProgram p({ProgramPath("deepbind_host"), LEAKTRACE_TEST_PROGRAM_DIR}, dir.path(),
                   {"LEAKTRACE_SAMPLE=" + sample});
  p.ExpectCheckpoint("before");
  const std::string before = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  const std::string after = p.Snapshot();
  p.Continue();
  ASSERT_EQ(p.Wait(), 0) << "blocks crossed a RTLD_DEEPBIND boundary (LEAKTRACE_SAMPLE=" << sample << ")";
  if (sample != "1") return;
  const nlohmann::json diff = DiffJson(before, after);
  const Growth leak = GrowthAt(diff, "deep_leak", "libdeepbind_plugin.so");
  EXPECT_EQ(leak.count, 1);
  EXPECT_EQ(leak.bytes, 777);
  EXPECT_EQ(GrowthThrough(diff, "plugin_alloc").count, 0);
  EXPECT_EQ(GrowthThrough(diff, "plugin_grow").count, 0);
}

TEST(DeepBind, ExactModeBlocksCrossTheBoundarySafelyAndCount) { RunDeepbind("1"); }
// Every allocation sampled: every block carries a header in sampled mode too.
TEST(DeepBind, SampledBlocksCrossTheBoundarySafely) { RunDeepbind("16"); }

}  // namespace
}  // namespace leaktrace::testing
