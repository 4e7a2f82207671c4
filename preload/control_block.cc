#include "preload/control_block.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "preload/dumper.h"
#include "preload/private_fds.h"
#include "preload/process_info.h"
#include "preload/tracker.h"

namespace leaktrace::preload {
namespace {

constexpr size_t kBlockBytes = 16384;  // three paths of up to 4 KiB fit
// A private descriptor (private_fds.h): moved if the program dup2s onto it.
std::atomic<int> g_control_fd{-1};
uint32_t g_failed_seq = 0;     // the last dump that could not be written (dump lock)
char g_failed_reason[1024];    // and why
uint32_t g_handover_seq = 0;   // the last dump left in a memfd for the reader (dump lock)
int g_handover_fd = -1;
char g_handover_path[4200];

void Write(uint32_t started, uint32_t completed, const char* path) {
  const int fd = g_control_fd.load(std::memory_order_acquire);
  if (fd < 0) return;
  char block[kBlockBytes];
  int n = snprintf(block, sizeof block,
                   "version=1\npid=%d\nsignal=%d\nsignal_tid=%d\ndir=%s\nprogram=%s\nstarted=%u\ncompleted=%u\nlast=%s\n"
                   "failed=%u\nerror=%s\nhandover=%u\nhandover_fd=%d\nhandover_path=%s\n",
                   g_process.pid, g_config.snapshot_signal, DumperThreadId(), g_config.dump_dir, g_process.program, started,
                   completed, path, g_failed_seq, g_failed_reason, g_handover_seq, g_handover_fd, g_handover_path);
  if (n < 0) return;
  if (n > static_cast<int>(sizeof block)) n = sizeof block;
  // Fixed size, padded with newlines: a reader racing a rewrite never sees a
  // file that shrank under it.
  memset(block + n, '\n', sizeof block - static_cast<size_t>(n));
  ssize_t ignored = pwrite(fd, block, sizeof block, 0);
  (void)ignored;
}

}  // namespace

void CreateControlBlock() {
  const int fd = static_cast<int>(syscall(SYS_memfd_create, "leaktrace-control", MFD_CLOEXEC));
  if (fd < 0) return;  // old kernel: `leaktrace snapshot` falls back to /proc/PID/environ
  AdoptPrivateFd(fd, &g_control_fd);
  Write(0, 0, "");
}

void UpdateControlBlock(uint32_t started, uint32_t completed, const char* path) { Write(started, completed, path); }

void NoteFailedSnapshot(uint32_t seq, const char* reason) {
  g_failed_seq = seq;
  snprintf(g_failed_reason, sizeof g_failed_reason, "%s", reason);
  for (char* c = g_failed_reason; *c != '\0'; ++c)
    if (*c == '\n') *c = ' ';  // one line per key
}

void NoteHandedOverSnapshot(uint32_t seq, int fd, const char* path) {
  g_handover_seq = seq;
  g_handover_fd = fd;
  snprintf(g_handover_path, sizeof g_handover_path, "%s", path);
}

void ControlBlockChildAfterFork() {
  g_failed_seq = 0;
  g_failed_reason[0] = '\0';
  g_handover_seq = 0;
  g_handover_fd = -1;
  g_handover_path[0] = '\0';
  // The inherited descriptor shares the parent's file: close ours, make anew.
  const int fd = g_control_fd.exchange(-1, std::memory_order_acq_rel);
  if (fd >= 0) ClosePrivateFd(fd);
}

}  // namespace leaktrace::preload
