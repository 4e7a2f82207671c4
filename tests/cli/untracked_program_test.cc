// `leaktrace run`'s word before it starts a program the loader never gives
// the library (cli/untracked_program.h): a user running a static busybox, or
// a set-user-ID passwd as another user, read only "no dumps were written".
#include "cli/untracked_program.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace leaktrace::cli {
namespace {

namespace fs = std::filesystem;

TEST(UntrackedProgram, AStaticProgramIsNamed) {
  const std::optional<std::string> why = WhyUntracked(LEAKTRACE_TEST_STATIC_PROGRAM);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("statically linked"), std::string::npos) << *why;
}

TEST(UntrackedProgram, AnOrdinaryProgramOrAScriptSaysNothing) {
  EXPECT_FALSE(WhyUntracked("/bin/true").has_value());
  EXPECT_FALSE(WhyUntracked("true").has_value()) << "found on PATH";
  EXPECT_FALSE(WhyUntracked("/no/such/program").has_value());
  const fs::path script = fs::temp_directory_path() / ("leaktrace-untracked-" + std::to_string(getpid()) + ".sh");
  std::ofstream(script) << "#!/bin/sh\ntrue\n";
  fs::permissions(script, fs::perms::owner_all);
  EXPECT_FALSE(WhyUntracked(script.string()).has_value());
  fs::remove(script);
}

TEST(UntrackedProgram, ASetUserIdProgramOfAnotherUserIsNamed) {
  if (geteuid() != 0) GTEST_SKIP() << "makes a file another user's";
  const fs::path dir = fs::path(LEAKTRACE_TEST_SCRATCH_DIR);
  fs::create_directories(dir);
  struct statvfs vfs;
  ASSERT_EQ(statvfs(dir.c_str(), &vfs), 0);
  const fs::path copy = dir / ("setuid-true-" + std::to_string(getpid()));
  fs::copy_file("/bin/true", copy, fs::copy_options::overwrite_existing);
  ASSERT_EQ(chown(copy.c_str(), 65534, 65534), 0);
  ASSERT_EQ(chmod(copy.c_str(), 04755), 0);
  const std::optional<std::string> why = WhyUntracked(copy.string());
  if (vfs.f_flag & ST_NOSUID) {
    EXPECT_FALSE(why.has_value()) << "nosuid: the bit does nothing";
  } else {
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("set-user-ID"), std::string::npos) << *why;
  }
  ASSERT_EQ(chmod(copy.c_str(), 0755), 0);
  EXPECT_FALSE(WhyUntracked(copy.string()).has_value());
  fs::remove(copy);
}

}  // namespace
}  // namespace leaktrace::cli
