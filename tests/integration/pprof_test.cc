// `leaktrace export --format pprof` read by Debian's `go tool pprof`: two
// snapshots of a real leaking program (programs/trend_scenarios.c, exact
// mode) are exported, and `go tool pprof -top -base a.pb.gz b.pb.gz` must
// name the leaking function with exactly the bytes it leaked in between.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

// trend_scenarios.c: leak_every_step leaks LEAK_PER_STEP blocks of LEAK_SIZE
// bytes per step; the cache keeps the same live bytes from step 2 on.
constexpr int kLeakPerStep = 10, kLeakSize = 96;

// `go tool pprof ARGS...` with a private HOME and Go caches, so it runs as
// any user (root included) with no network and leaves nothing behind.
CommandResult GoToolPprof(const TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {LEAKTRACE_TEST_GO, "tool", "pprof"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string home = dir.path() + "/home";
  std::filesystem::create_directories(home);
  return Run(argv, {"HOME=" + home, "GOCACHE=" + home + "/gocache", "GOPATH=" + home + "/gopath",
                    "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOTELEMETRY=off",
                    "PPROF_TMPDIR=" + home, "PPROF_BINARY_PATH=" + home});
}

// The flat value of `function` in `go tool pprof -top` output (first column),
// or NaN when the function is not listed.
double FlatValue(const std::string& top, const std::string& function) {
  std::istringstream lines(top);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.size() == 6 && f[5] == function) return std::strtod(f[0].c_str(), nullptr);  // "1920B" -> 1920
  }
  return std::nan("");
}

bool IsGzip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[2] = {};
  in.read(magic, 2);
  return in && static_cast<unsigned char>(magic[0]) == 0x1f && static_cast<unsigned char>(magic[1]) == 0x8b;
}

TEST(Pprof, GoToolPprofBaseNamesTheLeakingFunction) {
  ASSERT_STRNE(LEAKTRACE_TEST_GO, "")
      << "'go' was not found when the build was configured: install the Debian package golang-go "
         "(deps/debian-packages.txt, scripts/setup.sh) and configure again";
  TempDir dir;
  std::string before, after;
  {
    TrackedProgram p({ProgramPath("trend_scenarios")}, dir.path(), {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=0"});
    for (int step = 0; step <= 4; ++step) {
      p.ExpectCheckpoint("step" + std::to_string(step));
      if (step == 2) before = p.Snapshot();
      if (step == 4) after = p.Snapshot();
      p.Continue();
    }
    ASSERT_EQ(p.Wait(), 0);
  }
  const std::string a = dir.path() + "/a.pb.gz", b = dir.path() + "/b.pb.gz", growth = dir.path() + "/g.pb.gz";
  for (const auto& [dump, out] : {std::pair{before, a}, std::pair{after, b}}) {
    const CommandResult r = Leaktrace({"export", "--format", "pprof", "-o", out, dump});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(IsGzip(out)) << out;
  }
  const double leaked = 2 * kLeakPerStep * kLeakSize;  // steps 3 and 4

  const CommandResult top = GoToolPprof(dir, {"-top", "-unit=B", "-base", a, b});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("Type: inuse_space"), std::string::npos) << top.out;
  EXPECT_EQ(FlatValue(top.out, "leak_every_step"), leaked) << top.out;
  // What did not grow in between has no flat value left after -base.
  const double cache = FlatValue(top.out, "cache_insert");
  EXPECT_TRUE(std::isnan(cache) || cache == 0) << top.out;

  const CommandResult objects = GoToolPprof(dir, {"-top", "-sample_index=inuse_objects", "-base", a, b});
  ASSERT_EQ(objects.exit_code, 0) << objects.err;
  EXPECT_EQ(FlatValue(objects.out, "leak_every_step"), 2 * kLeakPerStep) << objects.out;

  // leaktrace's own --base gives the same growth in one file.
  const CommandResult g = Leaktrace({"export", "--format", "pprof", "--base", before, "-o", growth, after});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const CommandResult growth_top = GoToolPprof(dir, {"-top", "-unit=B", growth});
  ASSERT_EQ(growth_top.exit_code, 0) << growth_top.err;
  EXPECT_EQ(FlatValue(growth_top.out, "leak_every_step"), leaked) << growth_top.out;

  // A plain export holds everything live at that snapshot: 4 steps of leak.
  const CommandResult live = GoToolPprof(dir, {"-top", "-unit=B", b});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  EXPECT_EQ(FlatValue(live.out, "leak_every_step"), 4 * kLeakPerStep * kLeakSize) << live.out;
}

}  // namespace
}  // namespace leaktrace::testing
