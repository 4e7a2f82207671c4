// `leaktrace run --interval S`: after the program exits, the trend of the
// series it wrote is printed on stderr, the program's stdout stays its own,
// and the exit status stays the program's. Real programs (examples/
// leaky_service, whose parse_header leaks 512 bytes per request) under the
// real library, exact mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

// The lines of `text` that start with `prefix`.
size_t CountLines(const std::string& text, const std::string& prefix) {
  size_t n = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (text.compare(pos, prefix.size(), prefix) == 0) ++n;
    pos = end + 1;
  }
  return n;
}

// The verdict line of the first site whose stack names `function`, e.g.
// "leak: +480.0 KiB/s over the series, ...", or "" when absent.
std::string VerdictLineOf(const std::string& text, const std::string& function) {
  const size_t at = text.find("    " + function + " ");
  if (at == std::string::npos) return "";
  const size_t site = text.rfind("\n#", at);
  if (site == std::string::npos) return "";
  const size_t line = text.find('\n', site + 1) + 1;
  return text.substr(line + 4, text.find('\n', line) - line - 4);
}

// A program that executes itself again under its pid (haproxy's master on
// a reload): its two images' dumps were taken for one series, refused as
// "from another process", and no trend was printed. Each image with three
// or more snapshots gets its own trend.
TEST(RunInterval, AProgramThatExecutesItselfAgainGetsATrendPerImage) {
  TempDir dir;
  const CommandResult r = Leaktrace({"run", "-o", dir.path(), "--interval", "1", "--", ProgramPath("reexec_self")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CountLines(r.err, "leaktrace: trend of reexec_self (pid "), 2u) << r.err;
  EXPECT_EQ(r.err.find("no trend for reexec_self"), std::string::npos) << r.err;
}

TEST(RunInterval, PrintsTheTrendOnStderrAfterTheProgramExits) {
  TempDir dir;
  // "--seconds 4": interval snapshots at 1, 2, 3 (and maybe 4) s, then the
  // exit snapshot.
  const CommandResult r = Leaktrace({"run", "-o", dir.path(), "--sample", "1", "--interval", "1", "--",
                                     LEAKTRACE_TEST_SERVICE, "--rate", "1000", "--seconds", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // stdout is the service's alone: its two lines, nothing of leaktrace.
  EXPECT_EQ(CountLines(r.out, "leaky_service: "), 2u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;

  const size_t dumps = CountLines(r.err, "leaktrace: dump ");
  ASSERT_GE(dumps, 3u) << r.err;
  const size_t heading = r.err.find("leaktrace: trend of leaky_service (pid ");
  ASSERT_NE(heading, std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" over " + std::to_string(dumps) + " snapshots\n", heading), std::string::npos) << r.err;
  // The trend comes after the list of dumps, and judges the leak as one.
  EXPECT_GT(heading, r.err.rfind("leaktrace: dump ")) << r.err;
  const std::string leak = VerdictLineOf(r.err.substr(heading), "parse_header");
  EXPECT_EQ(leak.rfind("leak: +", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find("no trend"), std::string::npos) << r.err;
}

TEST(RunInterval, KeepsTheExitStatusAndJudgesAForkedWorker) {
  TempDir dir;
  // The service runs as a child of the shell; the shell's own status is 7.
  const std::string script = std::string(LEAKTRACE_TEST_SERVICE) + " --rate 1000 --seconds 4; exit 7";
  const CommandResult r =
      Leaktrace({"run", "-o", dir.path(), "--sample", "1", "--interval", "1", "--", "/bin/sh", "-c", script});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  const size_t heading = r.err.find("leaktrace: trend of leaky_service (pid ");
  ASSERT_NE(heading, std::string::npos) << r.err;
  EXPECT_EQ(VerdictLineOf(r.err.substr(heading), "parse_header").rfind("leak: +", 0), 0u) << r.err;
}

TEST(RunInterval, SaysInOneLineWhenTheSeriesIsTooShort) {
  TempDir dir;
  // The first interval snapshot would come after a minute; only the exit
  // snapshot is written.
  const CommandResult r = Leaktrace({"run", "-o", dir.path(), "--sample", "1", "--interval", "60", "--",
                                     LEAKTRACE_TEST_SERVICE, "--rate", "100", "--seconds", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CountLines(r.err, "leaktrace: dump "), 1u) << r.err;
  EXPECT_EQ(CountLines(r.err, "leaktrace: no trend: a trend needs 3 or more snapshots of one process, and "
                              "leaky_service (pid "),
            1u)
      << r.err;
  EXPECT_EQ(r.err.find("trend of"), std::string::npos) << r.err;
}

// A program of one thread that only computes (gzip, xz) makes no tracked
// event and no wait after its first 100 ms, so its interval timer, the
// dumper thread, never starts: only its exit snapshot is written. Said so,
// where the line told to run longer or with a shorter --interval (which
// cannot help).
TEST(RunInterval, SaysWhyAProgramThatOnlyComputesWroteNoIntervalSnapshot) {
  TempDir dir;
  const CommandResult r =
      Leaktrace({"run", "-o", dir.path(), "--interval", "1", "--", ProgramPath("lazy_dumper"), "compute"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CountLines(r.err, "leaktrace: dump "), 1u) << r.err;
  EXPECT_NE(r.err.find("wrote its exit snapshot alone: its interval timer is leaktrace's thread"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("run longer"), std::string::npos) << r.err;
}

TEST(RunInterval, WithoutIntervalPrintsNoTrend) {
  TempDir dir;
  const CommandResult r = Leaktrace({"run", "-o", dir.path(), "--sample", "1", "--", LEAKTRACE_TEST_SERVICE,
                                     "--rate", "100", "--seconds", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("trend"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace leaktrace::testing
