// `leaktrace trend` / `check --trend` on synthetic dumps: refusals (exit 2,
// one line) and the verdict of a steady leak.
#include "tests/cli/command_test.h"

namespace leaktrace::cli_test {
namespace {

using TrendCliTest = CommandTest;

TEST_F(TrendCliTest, SteadyGrowthIsALeakAndFailsTheGate) {
  std::string dumps;
  for (uint32_t seq = 1; seq <= 4; ++seq) dumps += " " + Dump(100, seq, 1024.0 * seq);
  Out r = Run("trend" + dumps);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 leak"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("leak: +17.1 B/s"), std::string::npos) << r.out;
  r = Run("check --trend" + dumps);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  r = Run("check --trend --max-bytes 1m" + dumps);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(TrendCliTest, RefusesOtherProcessesAndShortSeries) {
  const std::string a = Dump(100, 1, 0), b = Dump(100, 2, 10), c = Dump(200, 3, 20);
  for (const std::string& cmd : {"trend " + a + " " + b + " " + c, "check --trend " + a + " " + b + " " + c,
                                 "trend " + a + " " + b, "trend " + a + " " + b + " " + b,
                                 "trend --format json " + a + " " + b + " " + Path("missing.dump")}) {
    Out r = Run(cmd);
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.out;
    EXPECT_EQ(Lines(r.err), 1) << cmd << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("leaktrace: ", 0), 0u) << r.err;
  }
  EXPECT_NE(Run("trend " + a + " " + b + " " + c).err.find("another process"), std::string::npos);
}

}  // namespace
}  // namespace leaktrace::cli_test
