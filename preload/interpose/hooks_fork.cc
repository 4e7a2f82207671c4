// fork, and forkpty (hooks_fd.cc) through the same retry: refused for want
// of a task slot that leaktrace's dumper thread holds (a finite
// RLIMIT_NPROC: ulimit -u, a service's LimitNPROC), the call is made again
// once the thread has given its slot up (dumper.h,
// YieldDumperThreadToTheProgram), so the program makes as many children as
// it plainly would. Otherwise forwarded unchanged: the child returns
// through this frame as the parent does. vfork (vfork_entry.S) and the
// children libc makes itself (posix_spawn, system, popen) are not retried.
#include "preload/interpose/hooks_fork.h"

#include <errno.h>
#include <unistd.h>

#include "preload/internal/compiler.h"
#include "preload/interpose/real_functions.h"
#include "preload/resources/resource_paths.h"
#include "preload/snapshot/dumper.h"

namespace leaktrace::preload {

bool RetryForkRefused(pid_t rc) {
  if (LT_LIKELY(rc >= 0) || errno != EAGAIN || !TrackingThisCall()) return false;
  const int refused = errno;
  const bool yielded = YieldDumperThreadToTheProgram();
  errno = refused;
  return yielded;
}

}  // namespace leaktrace::preload

using namespace leaktrace::preload;

LT_EXPORT pid_t fork() {
  EnsureReal();
  const auto next = real.fork;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  pid_t pid = next();
  if (LT_UNLIKELY(RetryForkRefused(pid))) WaitForTheDumpersSlot([&] { return (pid = next()) < 0 && errno == EAGAIN; });
  return pid;
}
