// chdir, fchdir and chroot: forwarded, with the kept working directory
// (resources/working_dir.h) marked as changing around the real call, so an
// open by a relative path is labelled with the directory it was relative to.
// chroot first reads the executable's path, which the new root may hide
// (ReadExePathBeforeRootMoves), and after it leaves the library out of
// what the process execs when the new root does not hold it
// (StopFollowingExecOutOfReach).
#include <errno.h>
#include <unistd.h>

#include "preload/internal/compiler.h"
#include "preload/internal/errno_kept.h"
#include "preload/interpose/exec_policy.h"
#include "preload/interpose/real_functions.h"
#include "preload/resources/working_dir.h"
#include "preload/snapshot/process_info.h"

using namespace leaktrace::preload;

namespace {

template <typename Call>
int Changing(Call&& call) {
  WorkingDirectoryChanging();
  const int result = call();
  WorkingDirectoryChanged();  // atomics only: errno stays the call's
  return result;
}

}  // namespace

LT_EXPORT int chdir(const char* path) {
  EnsureReal();
  const auto next = real.chdir;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  return Changing([&] { return next(path); });
}

LT_EXPORT int fchdir(int fd) {
  EnsureReal();
  const auto next = real.fchdir;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  return Changing([&] { return next(fd); });
}

LT_EXPORT int chroot(const char* path) {
  EnsureReal();
  const auto next = real.chroot;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  ReadExePathBeforeRootMoves();
  const int result = Changing([&] { return next(path); });
  if (result == 0) {
    ErrnoKept errno_kept;
    StopFollowingExecOutOfReach();  // a program exec'd in there could not load the library
  }
  return result;
}
