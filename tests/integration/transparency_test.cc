// The program under leaktrace behaves exactly as without it: its descriptor
// numbers stay its own whatever it closes or dup2s (leaktrace's and
// libunwind's descriptors are private: preload/private_fds.h), and a snapshot
// interrupts none of its calls even after it closed every descriptor.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

// Each sampling setting the tests run in: default-like sampling that still
// samples the 256 KiB blocks of fd_takeover most of the time, and exact.
const std::vector<std::string> kModes = {"64k", "1"};

CommandResult RunUnder(const std::vector<std::string>& argv, const std::string& sample, const std::string& dir) {
  return leaktrace::testing::Run(argv, {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_SAMPLE=" + sample, "LEAKTRACE_DIR=" + dir});
}

class ServerClosingEveryDescriptor : public ::testing::TestWithParam<std::string> {};

TEST_P(ServerClosingEveryDescriptor, KeepsItsSocketAndFile) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("fd_takeover"), "server", GetParam()}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n");
  }
}

INSTANTIATE_TEST_SUITE_P(EveryWayToClose, ServerClosingEveryDescriptor, ::testing::Values("closefrom", "loop", "close_range"));

TEST(FdTakeover, Dup2OntoEveryNumberLeavesEachOneTheProgramsFile) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    const CommandResult r = RunUnder({ProgramPath("fd_takeover"), "dup2"}, sample, dir.path());
    EXPECT_EQ(r.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n");
  }
}

TEST(FdTakeover, AShellReadingFd3ReadsEveryLine) {
  TempDir dir;
  const std::string input = dir.path() + "/lines.txt";
  {
    std::ofstream f(input);
    for (int i = 0; i < 300; ++i) f << "line " << i << " of the file bash reads through fd 3\n";
  }
  // Each $(...) forks a subshell; every line goes through fd 3.
  const std::vector<std::string> script = {
      "/bin/bash", "-c",
      "exec 3<" + input + "; n=0; while read -u 3 l; do x=$(echo \"$l\"); n=$((n+1)); done; echo \"$n $x\""};
  const CommandResult plain = leaktrace::testing::Run(script);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(plain.out, "300 line 299 of the file bash reads through fd 3\n");
  for (const std::string& sample : kModes) {
    const CommandResult tracked = RunUnder(script, sample, dir.path());
    EXPECT_EQ(tracked.exit_code, 0) << "LEAKTRACE_SAMPLE=" << sample << ": " << tracked.err;
    EXPECT_EQ(tracked.out, plain.out) << "LEAKTRACE_SAMPLE=" << sample;
  }
}

TEST(FdTakeover, ASnapshotAfterClosefromInterruptsNoCall) {
  for (const std::string& sample : kModes) {
    TempDir dir;
    TrackedProgram p({ProgramPath("fd_takeover"), "sleep"}, dir.path(), {"LEAKTRACE_SAMPLE=" + sample});
    p.ExpectCheckpoint("sleeping");
    const std::string dump = p.Snapshot();
    EXPECT_TRUE(std::filesystem::exists(dump)) << dump;
    EXPECT_EQ(p.Wait(), 0) << "the program's nanosleep was cut short (LEAKTRACE_SAMPLE=" << sample << ")";
    // The exit dump arrives as well.
    int dumps = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps += e.path().extension() == ".dump";
    EXPECT_EQ(dumps, 2) << "LEAKTRACE_SAMPLE=" << sample;
  }
}

}  // namespace
}  // namespace leaktrace::testing
