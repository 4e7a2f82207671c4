// Settings: the program filter's globs (LEAKTRACE_PROGRAMS), and where the
// dumps go (LEAKTRACE_DIR).
#include "preload/internal/config.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <string>

namespace leaktrace::preload {
namespace {

bool Match(const char* glob, const char* name) { return GlobMatch(glob, std::strlen(glob), name); }

TEST(ProgramFilter, GlobsMatchWholeNames) {
  EXPECT_TRUE(Match("python3", "python3"));
  EXPECT_FALSE(Match("python3", "python3.11"));
  EXPECT_TRUE(Match("python3*", "python3.11"));
  EXPECT_TRUE(Match("python3*", "python3"));
  EXPECT_TRUE(Match("*", ""));
  EXPECT_TRUE(Match("*-server", "redis-server"));
  EXPECT_FALSE(Match("*-server", "redis-server2"));
  EXPECT_TRUE(Match("r?dis*", "redis-check-rdb"));
  EXPECT_FALSE(Match("r?dis", "rdis"));
  EXPECT_TRUE(Match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(Match("a*b*c", "axxbyy"));
  EXPECT_TRUE(Match("**x", "x"));
  EXPECT_FALSE(Match("", "x"));
}

TEST(ProgramFilter, AnyPatternMatchingEitherNameSelects) {
  Config c;
  EXPECT_TRUE(ProgramSelected(c, "bash", "bash")) << "no filter: every program";
  std::strcpy(c.programs, "python3*,nginx");
  EXPECT_TRUE(ProgramSelected(c, "python3.11", "python3.11"));
  EXPECT_TRUE(ProgramSelected(c, "nginx", ""));
  EXPECT_TRUE(ProgramSelected(c, nullptr, "nginx")) << "the executable's name alone";
  EXPECT_FALSE(ProgramSelected(c, "bash", "bash"));
  EXPECT_FALSE(ProgramSelected(c, "ngin", "nginx-debug"));
  std::strcpy(c.programs, ",,");
  EXPECT_FALSE(ProgramSelected(c, "x", "x")) << "empty patterns match nothing";
}

// A list of commas alone names no program: refused (tracking disabled, as
// `leaktrace run --only ''` is refused), not read as "none" in silence; an
// empty one is every program.
TEST(ProgramFilter, AListOfCommasAloneIsRefused) {
  Config commas;
  LoadConfig(commas, "LEAKTRACE_PROGRAMS=,,\n");
  EXPECT_FALSE(commas.valid);
  Config empty;
  LoadConfig(empty, "LEAKTRACE_PROGRAMS=\n");
  EXPECT_TRUE(empty.valid);
  EXPECT_TRUE(ProgramSelected(empty, "server", "server"));
  Config one;
  LoadConfig(one, "LEAKTRACE_PROGRAMS=,server,\n");
  EXPECT_TRUE(one.valid);
  EXPECT_TRUE(ProgramSelected(one, "server", "server"));
}

// The dump directory LEAKTRACE_DIR names, as LoadConfig resolves it.
std::string DumpDir(const std::string& dir, bool* valid = nullptr) {
  Config c;
  LoadConfig(c, ("LEAKTRACE_DIR=" + dir + "\n").c_str());
  if (valid != nullptr) *valid = c.valid;
  return c.dump_dir;
}

TEST(DumpDirectory, ARelativeDirectoryIsResolvedAgainstTheWorkingDirectoryWithoutDotSegments) {
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  const std::string here = cwd;
  const std::string prefix = here == "/" ? "/" : here + "/";
  EXPECT_EQ(DumpDir("."), here);
  EXPECT_EQ(DumpDir("./"), here);
  EXPECT_EQ(DumpDir("out"), prefix + "out");
  EXPECT_EQ(DumpDir("./out"), prefix + "out");
  EXPECT_EQ(DumpDir(".//./out/"), prefix + "out");
  EXPECT_EQ(DumpDir(".hidden"), prefix + ".hidden") << "a name starting with a dot is a name";
  EXPECT_EQ(DumpDir("../up"), prefix + "../up");
  EXPECT_EQ(DumpDir("/var/tmp/dumps/"), "/var/tmp/dumps");
}

TEST(DumpDirectory, OneTooLongDisablesTrackingAndSaysSo) {
  bool valid = true;
  // What leaktrace writes on stderr meanwhile, through a pipe.
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const int saved_stderr = dup(2);
  ASSERT_GE(saved_stderr, 0);
  dup2(pipe_fds[1], 2);
  DumpDir(std::string(5000, 'd'), &valid);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  close(pipe_fds[1]);
  char said[1024] = {};
  const ssize_t n = read(pipe_fds[0], said, sizeof said - 1);
  close(pipe_fds[0]);
  EXPECT_GT(n, 0) << "nothing said";
  EXPECT_NE(std::string(said).find("LEAKTRACE_DIR=ddd"), std::string::npos) << said;
  EXPECT_FALSE(valid);
  valid = false;
  DumpDir("out", &valid);
  EXPECT_TRUE(valid);
}

}  // namespace
}  // namespace leaktrace::preload
