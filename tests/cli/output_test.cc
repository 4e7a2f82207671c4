// The command line's own decisions about its output (cli/output.h).
#include "cli/output.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace leaktrace::cli {
namespace {

// A pseudo-terminal's controlling side: a file descriptor isatty() accepts.
class Terminal {
 public:
  Terminal() {
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    if (master_ >= 0 && grantpt(master_) == 0 && unlockpt(master_) == 0)
      if (const char* name = ptsname(master_)) fd_ = open(name, O_RDWR | O_NOCTTY);
  }
  ~Terminal() {
    if (fd_ >= 0) close(fd_);
    if (master_ >= 0) close(master_);
  }
  int fd() const { return fd_; }

 private:
  int master_ = -1;
  int fd_ = -1;
};

TEST(ShouldColor, OnATerminalUnlessNoColorIsSet) {
  Terminal terminal;
  ASSERT_GE(terminal.fd(), 0) << "no pseudo-terminal";
  unsetenv("NO_COLOR");
  EXPECT_TRUE(ShouldColor(terminal.fd()));
  setenv("NO_COLOR", "", 1);  // empty: as if unset (no-color.org)
  EXPECT_TRUE(ShouldColor(terminal.fd()));
  setenv("NO_COLOR", "1", 1);
  EXPECT_FALSE(ShouldColor(terminal.fd()));
  unsetenv("NO_COLOR");
}

TEST(ShouldColor, NeverIntoAFileOrPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  unsetenv("NO_COLOR");
  EXPECT_FALSE(ShouldColor(fds[1]));
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace leaktrace::cli
