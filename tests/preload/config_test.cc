// Settings: the program filter's globs (LEAKTRACE_PROGRAMS).
#include "preload/internal/config.h"

#include <gtest/gtest.h>

#include <cstring>

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

}  // namespace
}  // namespace leaktrace::preload
