// Which system calls a signal cuts short and which the kernel restarts
// after the handler (SA_RESTART, as the library installs its own): one
// rule for the library, whose snapshot handler starts its dumper thread on
// a thread waiting in a restarted call (preload/snapshot/interrupted_wait.h),
// and for `leaktrace snapshot`, which sends its signal to a thread in no
// call it would cut short (cli/process_state.h). Header only, no
// allocation: the preload library includes it.
#pragma once

#include <sys/syscall.h>

namespace leaktrace::format {

// The waits for input or for a child: read, readv, pread, recvfrom,
// recvmsg, recvmmsg, accept, accept4, wait4, waitid. No allocator makes
// them with its locks held. (A socket read with a receive timeout is cut
// short all the same, and nothing outside the call tells: the library
// starts its dumper thread when the program sets such a timeout,
// preload/interpose/hooks_wait.cc.)
inline bool RestartedAfterHandler(long nr) {
  switch (nr) {
    case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2:
    case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg:
    case SYS_accept: case SYS_accept4:
    case SYS_wait4: case SYS_waitid:
      return true;
    default:
      return false;
  }
}

}  // namespace leaktrace::format
