// A program entering a seccomp sandbox: prctl(PR_SET_SECCOMP) and the
// seccomp system call through syscall(3) (libseccomp's way;
// syscall_entry.S sends it here). Once its filter is in place, any system
// call the filter does not list may kill the process (SIGSYS), and a
// snapshot makes many (/proc reads, openat, rename, fsync). So, before the
// call, leaktrace stops its dumper thread, gives the snapshot signal back
// to the program and writes no snapshot from then on, the exit dump
// included (snapshot.h, RefuseSnapshots). Tracking goes on in memory. Calls
// that install nothing (libseccomp's probes pass a NULL filter and expect
// EFAULT; SECCOMP_GET_ACTION_AVAIL ...) change nothing.
#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/internal/compiler.h"
#include "preload/internal/mode.h"
#include "preload/internal/private_fds.h"
#include "preload/internal/raw_syscall.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"
#include "preload/record/unwind_cache.h"
#include "preload/record/unwinder.h"
#include "preload/snapshot/dumper.h"
#include "preload/snapshot/process_info.h"

using namespace leaktrace::preload;

namespace {

// Before a call that may install a filter, in the process that owns the
// tracker (a vfork child shares our memory: its sandbox is not ours).
void BeforeSandbox() {
  if ((g_mode != Mode::kSampled && g_mode != Mode::kExact) || t_state.busy != 0) return;
  if (getpid() != g_process.pid) return;
  const int saved_errno = errno;
  // The calling thread's captures readied while every call is allowed
  // (libunwind's set-up, the main stack's mincore); descriptors opened
  // later are labelled without asking the kernel (fd_kind.h).
  if (kUnwindCacheAvailable) {
    if (Shard* shard = ThreadShard(t_state)) {
      BusyScope busy;
      PrepareCapturesForSandbox(*shard);
    }
  }
  {
    BusyScope busy;
    PrepareUnwinderPipeForSandbox();  // checks without process_vm_readv inside
  }
  NoteSandboxEntered();  // no descriptor of ours made from now on (private_fds.h)
  StopSnapshotsForSandbox();
  errno = saved_errno;
}

}  // namespace

// syscall(SYS_seccomp, op, flags, args), from syscall_entry.S: the number
// is in `nr` still. Made here as a raw system call (the next syscall would
// do the same).
extern "C" LT_HIDDEN long leaktrace_seccomp_syscall(long nr, unsigned long op, unsigned long flags, void* args) {
  const bool installs = (op == SECCOMP_SET_MODE_STRICT && flags == 0 && args == nullptr) ||
                        (op == SECCOMP_SET_MODE_FILTER && args != nullptr);
  if (installs) BeforeSandbox();
  return RawSyscall(nr, static_cast<long>(op), static_cast<long>(flags), reinterpret_cast<long>(args));
}

// syscall_entry.S's own calls that failed: -errno in `rc`.
extern "C" LT_HIDDEN long leaktrace_syscall_failed(long rc) {
  errno = static_cast<int>(-rc);
  return -1;
}

LT_EXPORT int prctl(int option, ...) {
  va_list ap;
  va_start(ap, option);
  const unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long), a4 = va_arg(ap, unsigned long),
                      a5 = va_arg(ap, unsigned long);
  va_end(ap);
  EnsureReal();
  if (option == PR_SET_SECCOMP &&
      (a2 == SECCOMP_MODE_STRICT || (a2 == SECCOMP_MODE_FILTER && a3 != 0)))
    BeforeSandbox();
  const auto next = real.prctl;
  if (LT_UNLIKELY(next == nullptr)) return static_cast<int>(RawSyscall(SYS_prctl, option, a2, a3, a4, a5));
  return next(option, a2, a3, a4, a5);
}
