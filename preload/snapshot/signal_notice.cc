#include "preload/snapshot/signal_notice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/internal/config.h"
#include "preload/internal/mode.h"
#include "preload/internal/log.h"
#include "preload/internal/raw_syscall.h"
#include "preload/snapshot/process_info.h"

namespace leaktrace::preload {

namespace {

// True when this process is the first of its group to say it for this
// program and these signals (it made the marker), or when no marker can be
// made (no writable /tmp, as in a chroot: better said twice than never).
bool FirstToSay(int from, int to) {
  char marker[4096 + 320];
  const int n = snprintf(marker, sizeof marker, "/tmp/.leaktrace-%ld-pgrp%ld-%s-signal%d-%d",
                         static_cast<long>(RawSyscall(SYS_geteuid)), static_cast<long>(RawSyscall(SYS_getpgid, 0)),
                         g_process.program, from, to);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof marker) return true;
  char said_by[24];
  snprintf(said_by, sizeof said_by, "%d", g_process.pid);
  const int saved_errno = errno;
  const bool taken = RawSyscall(SYS_symlinkat, reinterpret_cast<long>(said_by), AT_FDCWD,
                                reinterpret_cast<long>(marker)) < 0 &&
                     errno == EEXIST;
  errno = saved_errno;
  return !taken;
}

}  // namespace

void SaySnapshotSignalMoved(const char* why, int from, int to) {
  if (IsForkChild()) return;  // its stderr is its parent's
  if (!g_config.verbose && !FirstToSay(from, to)) return;
  if (to > 0 && g_config.verbose)
    Log("%s (pid %d) takes signal %d for itself (%s): leaktrace takes snapshots on signal %d instead (leaktrace "
        "snapshot PID knows it)",
        g_process.program, g_process.pid, from, why, to);
  else if (to > 0)
    Log("%s (pid %d) takes signal %d for itself (%s): leaktrace takes snapshots on signal %d instead (leaktrace "
        "snapshot PID knows it; said once for the %s processes of this process group)",
        g_process.program, g_process.pid, from, why, to, g_process.program);
  else
    Log("%s (pid %d) takes signal %d for itself (%s): leaktrace snapshots by signal are off (choose another with "
        "LEAKTRACE_SIGNAL; interval and exit snapshots go on)",
        g_process.program, g_process.pid, from, why);
}

}  // namespace leaktrace::preload
