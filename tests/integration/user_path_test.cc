// The new user's path of issue 14, with the real library, the real command
// and examples/leaky_service (parse_header leaks 512 bytes per request):
// recipes exactly as README and docs write them, and sampled output that
// says what it cannot see.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

std::string CliDir() { return std::filesystem::path(LEAKTRACE_TEST_CLI).parent_path().string(); }

// README's recipe, verbatim but for the program: `leaktrace run -- ./server &`,
// then `leaktrace snapshot $!` twice ($! is the run wrapper), then a diff.
TEST(UserPath, ReadmeRecipeSnapshotsTheRunWrappersProgram) {
  TempDir dir;
  const std::string script =
      "cd " + dir.path() + " && export PATH=" + CliDir() + ":$PATH\n" +
      "leaktrace run -- " LEAKTRACE_TEST_SERVICE " --rate 1000 --seconds 3 &\n"
      "a=$(leaktrace snapshot $!) || exit 11\n"
      "sleep 1\n"
      "b=$(leaktrace snapshot $!) || exit 12\n"
      "echo \"A=$a\"; echo \"B=$b\"\n"
      "leaktrace diff --format json \"$a\" \"$b\" > diff.json || exit 13\n"
      "wait $! || exit 14\n";
  const CommandResult r = Run({"/bin/sh", "-c", script}, {"LEAKTRACE_SAMPLE=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // run says the program's pid, and the dumps are the program's, not the wrapper's.
  const size_t at = r.err.find("leaktrace: " LEAKTRACE_TEST_SERVICE " started as pid ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const std::string pid = r.err.substr(at + std::string("leaktrace: " LEAKTRACE_TEST_SERVICE " started as pid ").size());
  const std::string program_pid = pid.substr(0, pid.find(','));
  EXPECT_NE(r.out.find("A=" + dir.path() + "/leaky_service." + program_pid + ".1.dump\n"), std::string::npos)
      << r.out << r.err;
  EXPECT_NE(r.out.find("B=" + dir.path() + "/leaky_service." + program_pid + ".2.dump\n"), std::string::npos)
      << r.out << r.err;
  const CommandResult diff = Run({"/bin/cat", dir.path() + "/diff.json"});
  const Growth g = GrowthAt(nlohmann::json::parse(diff.out), "parse_header", "leaky_service");
  EXPECT_GT(g.bytes, 100 * 512) << diff.out;
}

// issue 14: a leak below what default sampling can see used to be "flat" /
// "no call site changed"; now trend and diff state the detection limit, the
// site is "not significant", and the way out is named.
TEST(UserPath, SubThresholdLeakIsNotSignificantWithItsDetectionLimit) {
  TempDir dir;
  // ~3 MiB leaked over ~5 s (the example) at the default 512 KiB sampling.
  const CommandResult run = Leaktrace({"run", "-o", dir.path(), "--interval", "1", "--", LEAKTRACE_TEST_SERVICE,
                                       "--rate", "1000", "--seconds", "6"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("detection limit "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("for smaller leaks use LEAKTRACE_SAMPLE=64k (leaktrace run --sample 64k), or --sample 1"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find("no call site changed"), std::string::npos) << run.err;

  std::vector<std::string> dumps;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps.push_back(e.path().string());
  std::sort(dumps.begin(), dumps.end());
  ASSERT_GE(dumps.size(), 3u) << run.err;
  std::vector<std::string> args = {"trend", "--format", "json"};
  args.insert(args.end(), dumps.begin(), dumps.end());
  const CommandResult trend = Leaktrace(args);
  ASSERT_EQ(trend.exit_code, 0) << trend.err;
  const nlohmann::json t = nlohmann::json::parse(trend.out);
  ASSERT_TRUE(t.contains("detection_limit_bytes")) << trend.out;
  EXPECT_GT(t["detection_limit_bytes"].get<double>(), 2.5 * 1024 * 1024);
  bool seen = false;
  for (const auto& site : t["sites"])
    for (const auto& f : site["frames"])
      if (f["function"] == "parse_header") {
        seen = true;
        // It grew in every snapshot: whatever the sampling saw, never "flat".
        EXPECT_NE(site["verdict"], "flat") << site.dump();
      }
  EXPECT_TRUE(seen) << trend.out;

  const CommandResult diff = Leaktrace({"diff", dumps.front(), dumps.back()});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_NE(diff.out.find("detection limit 4.5 MiB: heap growth below it at a call site ("), std::string::npos)
      << diff.out;
  EXPECT_EQ(diff.out.find("no growth"), std::string::npos) << diff.out;
  const nlohmann::json d = DiffJson(dumps.front(), dumps.back());
  EXPECT_DOUBLE_EQ(d["detection_limit_bytes"].get<double>(), 9.0 * 512 * 1024);
  const CommandResult check = Leaktrace({"check", "--format", "json", dumps.front(), dumps.back()});
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(check.out)["detection_limit_bytes"].get<double>(), 9.0 * 512 * 1024)
      << check.out;
}

}  // namespace
}  // namespace leaktrace::testing
