#include "preload/control_block.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "preload/dumper.h"
#include "preload/process_info.h"
#include "preload/tracker.h"

namespace leaktrace::preload {
namespace {

constexpr size_t kBlockBytes = 8192;
int g_control_fd = -1;

// A descriptor number far from the ones the program will be handed.
int ParkHigh(int fd) {
  rlimit limit;
  long target = 1000;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    target = static_cast<long>(limit.rlim_cur) - 10;
  }
  if (target > 100000) target = 100000;
  if (target <= fd) return fd;
  const int high = fcntl(fd, F_DUPFD_CLOEXEC, target);
  if (high < 0) return fd;
  close(fd);
  return high;
}

void Write(uint32_t started, uint32_t completed, const char* path) {
  if (g_control_fd < 0) return;
  char block[kBlockBytes];
  int n = snprintf(block, sizeof block, "version=1\npid=%d\nsignal=%d\nsignal_tid=%d\ndir=%s\nprogram=%s\nstarted=%u\ncompleted=%u\nlast=%s\n",
                   g_process.pid, g_config.snapshot_signal, DumperThreadId(), g_config.dump_dir, g_process.program, started,
                   completed, path);
  if (n < 0) return;
  if (n > static_cast<int>(sizeof block)) n = sizeof block;
  // Fixed size, padded with newlines: a reader racing a rewrite never sees a
  // file that shrank under it.
  memset(block + n, '\n', sizeof block - static_cast<size_t>(n));
  ssize_t ignored = pwrite(g_control_fd, block, sizeof block, 0);
  (void)ignored;
}

}  // namespace

void CreateControlBlock() {
  const int fd = memfd_create("leaktrace-control", MFD_CLOEXEC);
  if (fd < 0) return;  // old kernel: `leaktrace snapshot` falls back to /proc/PID/environ
  g_control_fd = ParkHigh(fd);
  Write(0, 0, "");
}

void UpdateControlBlock(uint32_t started, uint32_t completed, const char* path) { Write(started, completed, path); }

void ControlBlockChildAfterFork() {
  // The inherited descriptor shares the parent's file: close ours, make anew.
  if (g_control_fd >= 0) close(g_control_fd);
  g_control_fd = -1;
}

}  // namespace leaktrace::preload
