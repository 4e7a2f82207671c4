// leaktrace's private descriptors: parked high, recognised, skipped by the
// close_range/closefrom splitting, moved or let go when a dup2 targets them.
#include "preload/internal/private_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <utility>
#include <vector>

namespace leaktrace::preload {
namespace {

int MakePipeEnd() {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  close(p[1]);
  return p[0];
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) >= 0; }

TEST(PrivateFds, AdoptedDescriptorIsParkedHighCloseOnExecAndRecognised) {
  const int low = MakePipeEnd();
  std::atomic<int> home{-1};
  const int fd = AdoptPrivateFd(low, &home);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(home.load(), fd);
  if (PrivateFdBase() != 0) {
    EXPECT_GE(fd, PrivateFdBase());
    EXPECT_FALSE(IsOpen(low)) << "the low original is closed";
  }
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(IsPrivateFd(fd));
  EXPECT_FALSE(IsPrivateFd(0));
  EXPECT_FALSE(IsPrivateFd(-1));
  EXPECT_EQ(ClosePrivateFd(fd), 0);
  EXPECT_FALSE(IsPrivateFd(fd));
  EXPECT_FALSE(IsOpen(fd));
}

TEST(PrivateFds, CloseRefusesADescriptorThatIsNotPrivate) {
  const int fd = MakePipeEnd();
  EXPECT_EQ(ClosePrivateFd(fd), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_TRUE(IsOpen(fd)) << "never close what may be the program's";
  close(fd);
}

TEST(PrivateFds, PublicRangesSkipEveryPrivateDescriptor) {
  const int a = AdoptPrivateFd(MakePipeEnd(), nullptr);
  const int b = AdoptPrivateFd(MakePipeEnd(), nullptr);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  const int lo = std::min(a, b), hi = std::max(a, b);
  std::vector<std::pair<unsigned, unsigned>> parts;
  auto collect = [](unsigned first, unsigned last, void* ctx) {
    static_cast<std::vector<std::pair<unsigned, unsigned>>*>(ctx)->emplace_back(first, last);
    return 0;
  };
  ASSERT_EQ(ForEachPublicRange(3, UINT_MAX, collect, &parts), 0);
  std::vector<std::pair<unsigned, unsigned>> want;
  if (lo > 3) want.emplace_back(3, lo - 1);
  if (hi > lo + 1) want.emplace_back(lo + 1, hi - 1);
  want.emplace_back(hi + 1, UINT_MAX);
  EXPECT_EQ(parts, want);

  // A range that holds none of them is passed on whole; one that ends on a
  // private descriptor stops before it.
  parts.clear();
  ASSERT_EQ(ForEachPublicRange(0, 2, collect, &parts), 0);
  EXPECT_EQ(parts, (std::vector<std::pair<unsigned, unsigned>>{{0, 2}}));
  parts.clear();
  ASSERT_EQ(ForEachPublicRange(static_cast<unsigned>(lo), static_cast<unsigned>(lo), collect, &parts), 0);
  EXPECT_TRUE(parts.empty());

  // The first failure stops the walk and is returned.
  int calls = 0;
  auto failing = [](unsigned, unsigned, void* ctx) {
    ++*static_cast<int*>(ctx);
    return -1;
  };
  EXPECT_EQ(ForEachPublicRange(3, UINT_MAX, failing, &calls), -1);
  EXPECT_EQ(calls, 1);
  ClosePrivateFd(a);
  ClosePrivateFd(b);
}

TEST(PrivateFds, Dup2OntoAHomedDescriptorMovesIt) {
  std::atomic<int> home{-1};
  const int fd = AdoptPrivateFd(MakePipeEnd(), &home);
  ASSERT_GE(fd, 0);
  YieldPrivateFd(fd);
  const int moved = home.load();
  ASSERT_GE(moved, 0);
  EXPECT_NE(moved, fd);
  EXPECT_TRUE(IsPrivateFd(moved));
  EXPECT_FALSE(IsPrivateFd(fd)) << "the program now owns the old number";
  // What the program's dup2 then does: the number holds its file.
  const int program_file = open("/dev/null", O_RDONLY);
  ASSERT_EQ(dup2(program_file, fd), fd);
  close(program_file);
  EXPECT_EQ(ClosePrivateFd(fd), -1) << "the program's descriptor is not ours to close";
  EXPECT_TRUE(IsOpen(fd));
  close(fd);
  EXPECT_EQ(ClosePrivateFd(moved), 0);
}

TEST(PrivateFds, Dup2OntoAForeignDescriptorLetsItGo) {
  const int fd = AdoptPrivateFd(MakePipeEnd(), nullptr);
  ASSERT_GE(fd, 0);
  YieldPrivateFd(fd);
  EXPECT_FALSE(IsPrivateFd(fd));
  EXPECT_TRUE(IsOpen(fd)) << "the program's dup2 replaces it, not us";
  close(fd);
}

// The soft limit is read once; a program that lowers it below the number
// learned then still gets ours parked under its new limit (fd_exhaust does
// so before it leaks every descriptor it may have).
TEST(PrivateFds, ALimitLoweredAfterTheFirstParkingIsFollowed) {
  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_cur < 1024) GTEST_SKIP() << "needs a soft limit of 1024 or more, not " << saved.rlim_cur;
  const int first = AdoptPrivateFd(MakePipeEnd(), nullptr);
  ASSERT_GE(first, 992) << "parked at 992 and up under a limit of 1024 or more";
  rlimit lowered = saved;
  lowered.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const int low = MakePipeEnd();
  const int second = AdoptPrivateFd(low, nullptr);
  const int base = PrivateFdBase();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(base, 48) << "a quarter of a limit under 128 below it";
  EXPECT_GE(second, 48);
  EXPECT_LT(second, 64);
  EXPECT_FALSE(IsOpen(low)) << "moved, its low original closed";
  EXPECT_EQ(ClosePrivateFd(first), 0);
  EXPECT_EQ(ClosePrivateFd(second), 0);
}

TEST(PrivateFds, TheSpareMakesWayForAnOpenWhenNoDescriptorIsLeft) {
  // A process that has leaked every descriptor it may have: the spare
  // (kept since the first capture) is closed so that an open of ours (the
  // dump's file, /proc reads) still gets one; without it that open fails.
  // In a child: the test lowers the limit and fills the table.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(10);
    limit.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(11);
    if (!KeepSpareFd()) _exit(12);
    if (!KeepSpareFd()) _exit(13);  // kept once: the second call makes none
    while (open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0) {
    }
    if (errno != EMFILE) _exit(14);
    const int fd = OpenPrivateFd("/dev/null", O_RDONLY, 0, nullptr);
    if (fd < 0) _exit(15);  // nothing made way
    // The spare is spent, and not made again: another open finds no way.
    if (OpenPrivateFd("/dev/null", O_RDONLY, 0, nullptr) >= 0 || errno != EMFILE) _exit(16);
    if (KeepSpareFd()) _exit(17);
    _exit(ClosePrivateFd(fd) == 0 ? 0 : 18);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10-11: limit, 12-13: spare, 14: fill, 15: no way made, 16-17: the spare again, 18: close";
}

TEST(PrivateFds, NoSpareIsMadeInASandbox) {
  // After the program entered a seccomp sandbox (whose filter may kill it
  // for an eventfd2), no spare: KeepSpareFd makes none, and says so.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    NoteSandboxEntered();
    if (!SandboxEntered()) _exit(10);
    if (KeepSpareFd()) _exit(11);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace leaktrace::preload
