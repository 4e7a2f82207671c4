// `leaktrace snapshot` of a server that executes itself again while it is
// asked (a reload: haproxy -W's master on SIGUSR2, nginx's and unicorn's
// binary upgrades). The request the command made of the old image (its
// control block's thread request, or a signal to its dumper thread) is
// lost with that image; the command must notice the exec and ask the new
// image, within its one --timeout.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "format/control_block.h"
#include "format/dump.h"
#include "format/dump_reader.h"
#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

namespace control = format::control;

// Whether `leaktrace snapshot` has asked `pid` for its dumper thread: its
// request line (control::kThreadWantedLine) stands at the end of the
// process's control block. The command writes it once it has read the
// block, found no thread to signal, and is waiting for one.
bool ThreadRequested(pid_t pid) {
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(fd_dir, ec)) {
    char target[256];
    const ssize_t n = readlink(entry.path().c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    const std::string link(target, static_cast<size_t>(n));
    if (link.rfind(std::string("/memfd:") + control::kMemfdName, 0) != 0) continue;
    const int fd = open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char line[control::kThreadRequestBytes];
    const ssize_t got = pread(fd, line, sizeof line, control::kThreadRequestOffset);
    close(fd);
    if (got == static_cast<ssize_t>(sizeof line) && std::memcmp(line, control::kThreadWantedLine, sizeof line) == 0)
      return true;
  }
  return false;
}

// Starts `leaktrace snapshot PID`, waits until it has asked the current
// image of `p` (an odd generation of reexec_on_signal, which never takes
// the request), then makes that image execute the next one.
//
// Why this never passes or fails by chance: the exec comes only after the
// command has read the old image's block and asked it (the request line is
// there), so every round tests the exec in the middle of the command's
// wait. The old image waits in a raw system call no hook sees: its library
// never reads the request, and the command never signals a thread in a call
// the signal would cut short, so no dump can come from it; the snapshot can
// only be the new image's, whatever the timing. The new image waits in
// epoll_pwait, which leaktrace makes in slices of 100 ms and more, reading
// the request between two; asked there, it starts its thread and is
// snapshot through it, well within the 30 s given on a loaded machine. The
// request written before the exec and the next image's block are the only
// synchronisation, no sleep.
std::future<CommandResult> SnapshotAcrossReexec(TrackedProgram& p) {
  std::future<CommandResult> snapshot = std::async(std::launch::async, [pid = p.pid()] {
    return Leaktrace({"snapshot", "--timeout", "30", std::to_string(pid)});
  });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!ThreadRequested(p.pid()) && std::chrono::steady_clock::now() < give_up &&
         snapshot.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
  }
  EXPECT_TRUE(ThreadRequested(p.pid())) << "leaktrace snapshot never asked for the old image's thread";
  kill(p.pid(), SIGHUP);
  return snapshot;
}

TEST(SnapshotAcrossReexec, AskedAsTheProcessExecutesItselfIsWrittenByTheNewImage) {
  TempDir dir;
  TrackedProgram p({ProgramPath("reexec_on_signal"), "0"}, dir.path());
  p.ExpectCheckpoint("ready 0");
  // Five reloads, each asked between its two execs. Before the fix the
  // first round already failed after the whole timeout: the command kept
  // reading the old image's block, which no image writes any more.
  for (int round = 0; round < 5; ++round) {
    const int asked = 2 * round + 1, after = asked + 1;
    kill(p.pid(), SIGHUP);  // a fresh image, with no dumper thread: the command must ask for one
    p.ExpectCheckpoint("ready " + std::to_string(asked));
    std::future<CommandResult> snapshot = SnapshotAcrossReexec(p);
    p.ExpectCheckpoint("ready " + std::to_string(after));
    const CommandResult r = snapshot.get();
    ASSERT_EQ(r.exit_code, 0) << "round " << round << ": " << r.err;
    std::string path = r.out;
    while (!path.empty() && path.back() == '\n') path.pop_back();
    const format::Dump dump = format::ReadDump(path);
    EXPECT_EQ(dump.process.pid, static_cast<uint32_t>(p.pid()));
    EXPECT_EQ(dump.process.trigger, format::Trigger::kSignal);
    ASSERT_EQ(dump.process.argv.size(), 2u) << path;
    EXPECT_EQ(dump.process.argv[1], std::to_string(after)) << "round " << round << ": not the new image's dump";
  }
}

// The new image without the library (its environment dropped LD_PRELOAD):
// said at once, as for any process leaktrace does not track (exit 2), not
// after the whole timeout.
TEST(SnapshotAcrossReexec, OfAnImageWithoutTheLibrarySaysSo) {
  TempDir dir;
  TrackedProgram p({ProgramPath("reexec_on_signal"), "0", "untracked"}, dir.path());
  p.ExpectCheckpoint("ready 0");
  kill(p.pid(), SIGHUP);
  p.ExpectCheckpoint("ready 1");
  const auto asked = std::chrono::steady_clock::now();
  std::future<CommandResult> snapshot = SnapshotAcrossReexec(p);
  p.ExpectCheckpoint("ready 2");
  const CommandResult r = snapshot.get();
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("leaktrace does not track the new program"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(15)) << r.err;
}

}  // namespace
}  // namespace leaktrace::testing
