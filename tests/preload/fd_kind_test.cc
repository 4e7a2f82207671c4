// Guessed kinds of descriptors opened by absolute path (preload/resources/
// fd_kind.h): the open records the kind its path suggests, and the check a
// snapshot makes gives exactly what an fstat at the open would have given.
#include "preload/resources/fd_kind.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "preload/resources/fd_table.h"
#include "preload/resources/label_table.h"
#include "preload/resources/working_dir.h"

namespace leaktrace::preload {
namespace {

std::string Text(uint32_t label) { return LabelText(label & ~kLabelFlags); }

// chdir as the hooks make it (interpose/hooks_cwd.cc): the change marked.
int MarkedChdir(const char* path) {
  WorkingDirectoryChanging();
  const int rc = chdir(path);
  WorkingDirectoryChanged();
  return rc;
}

class FdKind : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fd_kind_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    unlink((dir_ + "/fifo").c_str());
    unlink((dir_ + "/file").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(FdKind, AGuessIsCheckedAgainstWhatTheDescriptorIs) {
  const std::string file = dir_ + "/file", fifo = dir_ + "/fifo";
  close(open(file.c_str(), O_WRONLY | O_CREAT, 0600));
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  struct Case {
    std::string path;
    int flags;
    std::string guessed, checked;
  };
  const Case cases[] = {
      {file, O_RDONLY, "file:" + file, "file:" + file},
      {dir_, O_RDONLY, "file:" + dir_, "dir:" + dir_},
      {fifo, O_RDWR | O_NONBLOCK, "file:" + fifo, "fifo:" + fifo},
      {"/dev/null", O_RDONLY, "device:/dev/null", "device:/dev/null"},
  };
  for (const Case& c : cases) {
    const int fd = open(c.path.c_str(), c.flags);
    ASSERT_GE(fd, 0) << c.path;
    const uint32_t guess = GuessedOpenedLabel(c.path.c_str(), nullptr);
    EXPECT_NE(guess & kUnverifiedKind, 0u);
    EXPECT_EQ(Text(guess), c.guessed);
    EXPECT_EQ(GuessedOpenedLabel(c.path.c_str(), nullptr), guess) << "the same path, the same label (cached)";
    const uint32_t checked = VerifiedOpenedLabel(fd, guess);
    EXPECT_EQ(checked & kUnverifiedKind, 0u);
    EXPECT_EQ(Text(checked), c.checked);
    EXPECT_EQ(checked, OpenedPathLabel(fd, c.path.c_str())) << "what an fstat at the open gives";
    close(fd);
  }
}

TEST_F(FdKind, ACallersGuessAndLabelsWithoutTheFlag) {
  const int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  const uint32_t guess = GuessedOpenedLabel(dir_.c_str(), "dir");
  EXPECT_EQ(Text(guess), "dir:" + dir_);
  EXPECT_EQ(VerifiedOpenedLabel(fd, guess), guess & ~kUnverifiedKind);
  const uint32_t pipe_label = KindLabel("pipe");
  EXPECT_EQ(VerifiedOpenedLabel(fd, pipe_label), pipe_label) << "a label that is no guess is left alone";
  close(fd);
  // Closed behind the hooks' back: the guess stands.
  EXPECT_EQ(VerifiedOpenedLabel(fd, guess), guess & ~kUnverifiedKind);
}

// An open by relative path is labelled with the absolute path it named at
// that moment, without asking /proc/self/fd: the working directory joined
// with the path, or the directory descriptor's own path for an openat.
TEST_F(FdKind, ARelativePathIsJoinedToWhereItWasOpened) {
  const std::string file = dir_ + "/file";
  close(open(file.c_str(), O_WRONLY | O_CREAT, 0600));
  char here[4096];
  ASSERT_NE(getcwd(here, sizeof here), nullptr);
  ASSERT_EQ(MarkedChdir(dir_.c_str()), 0);
  EXPECT_EQ(Text(RelativeOpenedLabel(AT_FDCWD, "file", nullptr)), "file:" + file);
  EXPECT_EQ(Text(RelativeOpenedLabel(AT_FDCWD, "./file", nullptr)), "file:" + file);
  EXPECT_EQ(Text(RelativeOpenedLabel(AT_FDCWD, ".//./file", nullptr)), "file:" + file);
  EXPECT_EQ(Text(RelativeOpenedLabel(AT_FDCWD, ".", "dir")), "dir:" + dir_);
  EXPECT_NE(RelativeOpenedLabel(AT_FDCWD, "file", nullptr) & kUnverifiedKind, 0u) << "a guess, as for an absolute path";
  EXPECT_EQ(RelativeOpenedLabel(AT_FDCWD, "../x/file", nullptr), 0u) << "'..' is left to the descriptor";
  ASSERT_EQ(MarkedChdir(here), 0);

  // openat: the directory descriptor's label holds its path (a guessed
  // "file:" one too, as an open of a directory by absolute path records).
  const int dirfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dirfd, 0);
  EXPECT_EQ(RelativeOpenedLabel(dirfd, "file", nullptr), 0u) << "a directory descriptor never recorded";
  FdRecord(dirfd, 1, GuessedOpenedLabel(dir_.c_str(), nullptr));
  EXPECT_EQ(Text(RelativeOpenedLabel(dirfd, "file", nullptr)), "file:" + file);
  EXPECT_EQ(Text(RelativeOpenedLabel(dirfd, "sub/x", nullptr)), "file:" + dir_ + "/sub/x");
  FdRecord(dirfd, 1, KindLabel("pipe"));
  EXPECT_EQ(RelativeOpenedLabel(dirfd, "file", nullptr), 0u) << "a label without a path";
  close(dirfd);
}

// The working directory's path is kept between marked changes; one made
// behind the hooks' back (glibc's daemon, nftw and fts change it by raw
// system calls) leaves it stale. A label built on a kept path says so, and
// the check a snapshot makes then reads the directory from the descriptor,
// while a file renamed in place keeps the name it was opened by.
TEST_F(FdKind, ALabelOnAKeptWorkingDirectoryIsCheckedAtTheSnapshot) {
  const std::string sub = dir_ + "/sub", file = dir_ + "/sub/file";
  ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
  close(open(file.c_str(), O_WRONLY | O_CREAT, 0600));
  char here[4096];
  ASSERT_NE(getcwd(here, sizeof here), nullptr);
  ASSERT_EQ(MarkedChdir(dir_.c_str()), 0);
  const uint32_t fresh = RelativeOpenedLabel(AT_FDCWD, "x", nullptr);
  EXPECT_EQ(fresh & kOnKeptCwd, 0u) << "the first after a change asks the kernel";
  EXPECT_EQ(Text(fresh), "file:" + dir_ + "/x");
  ASSERT_EQ(chdir(sub.c_str()), 0);  // unmarked: as glibc's own code moves it
  const uint32_t stale = RelativeOpenedLabel(AT_FDCWD, "file", nullptr);
  EXPECT_EQ(stale & kLabelFlags, kLabelFlags) << "built on the kept path";
  EXPECT_EQ(Text(stale), "file:" + dir_ + "/file") << "the kept path is the one of before";
  const int fd = open("file", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Text(VerifiedOpenedLabel(fd, stale)), "file:" + file) << "the descriptor tells the real directory";
  // Renamed in place after an open on the right path: the name it was opened by.
  ASSERT_EQ(MarkedChdir(sub.c_str()), 0);
  RelativeOpenedLabel(AT_FDCWD, "y", nullptr);  // kept from here
  const uint32_t right = RelativeOpenedLabel(AT_FDCWD, "file", nullptr);
  EXPECT_NE(right & kOnKeptCwd, 0u);
  ASSERT_EQ(rename(file.c_str(), (sub + "/moved").c_str()), 0);
  EXPECT_EQ(Text(VerifiedOpenedLabel(fd, right)), "file:" + file);
  ASSERT_EQ(rename((sub + "/moved").c_str(), file.c_str()), 0);
  close(fd);
  ASSERT_EQ(MarkedChdir(here), 0);
  unlink(file.c_str());
  rmdir(sub.c_str());
}

}  // namespace
}  // namespace leaktrace::preload
