// Every libc entry point that makes or releases a descriptor, as the program
// sees it: forward to the real function, then (when the call is the
// program's) record what it made, or forget what it is about to release.
// Creations are recorded after the real call returned the number; releases
// are forgotten before the real call, so a number the kernel hands out again
// at once is never lost (fd_table.h). errno is what the real call left.
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "preload/internal/compiler.h"
#include "preload/snapshot/dumper.h"
#include "preload/resources/fd_kind.h"
#include "preload/internal/private_fds.h"
#include "preload/internal/raw_syscall.h"
#include "preload/interpose/hooks_fork.h"
#include "preload/interpose/real_functions.h"
#include "preload/resources/resource_paths.h"

using namespace leaktrace::preload;

namespace {

// The real function, or -1/ENOSYS when the C library has none (only while
// `real` is being resolved on this very thread, or on an old libc).
#define REAL_OR_ENOSYS(fn)  \
  EnsureReal();           \
  if (real.fn == nullptr) { \
    errno = ENOSYS;         \
    return -1;              \
  }

mode_t ModeArg(int flags, va_list ap) { return __OPEN_NEEDS_MODE(flags) ? va_arg(ap, mode_t) : 0; }

// `path` relative to `dirfd` (openat) or to the working directory.
LT_ALWAYS_INLINE int Opened(int fd, const char* path, int dirfd = AT_FDCWD) {
  if (fd >= 0 && TrackingThisCall()) RecordOpenedFd(fd, path, nullptr, dirfd);
  return fd;
}

LT_ALWAYS_INLINE int Made(int fd, const char* kind) {
  if (fd >= 0 && TrackingThisCall()) {
    ErrnoKeeper keep;
    RecordFd(fd, KindLabel(kind));
  }
  return fd;
}

LT_ALWAYS_INLINE int Copied(int fd, int source) {
  if (fd >= 0 && TrackingThisCall()) RecordFdCopy(fd, source);
  return fd;
}

int OpenAt(int dirfd, const char* path, int flags, mode_t mode,
           int (*fn)(int, const char*, int, ...)) {
  const int fd = fn ? fn(dirfd, path, flags, mode) : static_cast<int>(RawSyscall(SYS_openat, dirfd, path, flags, mode));
  return Opened(fd, path, dirfd);
}

// A call on one of leaktrace's private descriptors, from the program: as if
// the number were free (private_fds.h), as close says too. bash probes a
// number with fcntl(F_GETFD) before `exec 993>file` and, finding it open,
// saved a copy of it and put that back over its own file: the file stayed
// empty and what the script wrote went into leaktrace's descriptor.
int NotTheProgramsFd() {
  errno = EBADF;
  return -1;
}

int DupFcntl(int (*fn)(int, int, ...), int fd, int cmd, va_list ap) {
  // Every fcntl argument is an int, a pointer or nothing: pass one word on.
  void* arg = va_arg(ap, void*);
  if (LT_UNLIKELY(IsPrivateFd(fd))) return NotTheProgramsFd();
  int result = fn ? fn(fd, cmd, arg) : static_cast<int>(RawSyscall(SYS_fcntl, fd, cmd, arg));
  if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && result >= 0) return Copied(result, fd);
  return result;
}

}  // namespace

// ---- open family -------------------------------------------------------------

LT_EXPORT int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = ModeArg(flags, ap);
  va_end(ap);
  EnsureReal();
  const int fd = real.open ? real.open(path, flags, mode)
                              : static_cast<int>(RawSyscall(SYS_openat, AT_FDCWD, path, flags, mode));
  return Opened(fd, path);
}

LT_EXPORT int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = ModeArg(flags, ap);
  va_end(ap);
  EnsureReal();
  const int fd = real.open64 ? real.open64(path, flags, mode)
                                : static_cast<int>(RawSyscall(SYS_openat, AT_FDCWD, path, flags, mode));
  return Opened(fd, path);
}

LT_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = ModeArg(flags, ap);
  va_end(ap);
  EnsureReal();
  return OpenAt(dirfd, path, flags, mode, real.openat);
}

LT_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = ModeArg(flags, ap);
  va_end(ap);
  EnsureReal();
  return OpenAt(dirfd, path, flags, mode, real.openat64);
}

// What _FORTIFY_SOURCE builds call for open(path, flags) with flags unknown
// at compile time.
LT_EXPORT int __open_2(const char* path, int flags) {
  REAL_OR_ENOSYS(open_2);
  return Opened(real.open_2(path, flags), path);
}

LT_EXPORT int __open64_2(const char* path, int flags) {
  REAL_OR_ENOSYS(open64_2);
  return Opened(real.open64_2(path, flags), path);
}

LT_EXPORT int __openat_2(int dirfd, const char* path, int flags) {
  REAL_OR_ENOSYS(openat_2);
  return Opened(real.openat_2(dirfd, path, flags), path, dirfd);
}

LT_EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
  REAL_OR_ENOSYS(openat64_2);
  return Opened(real.openat64_2(dirfd, path, flags), path, dirfd);
}

LT_EXPORT int creat(const char* path, mode_t mode) {
  REAL_OR_ENOSYS(creat);
  return Opened(real.creat(path, mode), path);
}

LT_EXPORT int creat64(const char* path, mode_t mode) {
  REAL_OR_ENOSYS(creat64);
  return Opened(real.creat64(path, mode), path);
}

// ---- release -----------------------------------------------------------------

LT_EXPORT int close(int fd) {
  // Not the program's (private_fds.h), but listed in /proc/self/fd: a
  // program that closes every number listed there (crashpad's handler,
  // daemons before an exec) checks each close. To it the number is closed
  // from now on (fcntl and dup say EBADF), so the close succeeds; ours stays.
  if (LT_UNLIKELY(IsPrivateFd(fd))) return 0;
  EnsureReal();
  if (TrackingThisCall()) ForgetFd(fd);
  return real.close ? real.close(fd) : static_cast<int>(RawSyscall(SYS_close, fd));
}

// close_range and closefrom close the program's descriptors around
// leaktrace's private ones, never those.
LT_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  REAL_OR_ENOSYS(close_range);
  // CLOSE_RANGE_CLOEXEC only marks; bad arguments close nothing.
  if (first <= last && (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) == 0 &&
      !(flags & CLOSE_RANGE_CLOEXEC) && TrackingThisCall())
    ForgetFdRange(first, last);
  if (first > last) return real.close_range(first, last, flags);  // its own EINVAL
  auto close_part = [](unsigned a, unsigned b, void* flags) {
    return real.close_range(a, b, *static_cast<int*>(flags));
  };
  return ForEachPublicRange(first, last, close_part, &flags);
}

// syscall(SYS_close, fd) and syscall(SYS_close_range, first, last, flags)
// as the program makes them (code older than glibc's close_range calls it
// so), from syscall_entry.S: the same as close and close_range, so the
// descriptors leave the table (they stayed counted as open) and leaktrace's
// private ones stay out of reach.
extern "C" LT_HIDDEN long leaktrace_close_syscall(long, long fd) { return close(static_cast<int>(fd)); }
extern "C" LT_HIDDEN long leaktrace_close_range_syscall(long, long first, long last, long flags) {
  return close_range(static_cast<unsigned>(first), static_cast<unsigned>(last), static_cast<int>(flags));
}

LT_EXPORT void closefrom(int lowfd) {
  EnsureReal();
  if (real.closefrom == nullptr || lowfd < 0) return;
  if (TrackingThisCall()) ForgetFdRange(static_cast<unsigned>(lowfd), ~0u >> 1);
  // Each part below the last private descriptor with close_range (one
  // descriptor at a time on a kernel without it), the rest with closefrom.
  auto close_part = [](unsigned a, unsigned b, void*) {
    if (b == ~0u) {
      real.closefrom(static_cast<int>(a));
    } else if (RawSyscall(SYS_close_range, a, b, 0) != 0) {
      for (unsigned fd = a; fd <= b; ++fd) RawSyscall(SYS_close, fd);
    }
    return 0;
  };
  const int saved_errno = errno;
  ForEachPublicRange(static_cast<unsigned>(lowfd), ~0u, close_part, nullptr);
  errno = saved_errno;
}

// ---- sockets -----------------------------------------------------------------

LT_EXPORT int socket(int domain, int type, int protocol) {
  REAL_OR_ENOSYS(socket);
  const int fd = real.socket(domain, type, protocol);
  if (fd >= 0 && TrackingThisCall()) {
    ErrnoKeeper keep;
    RecordFd(fd, SocketLabel(domain, type));
  }
  return fd;
}

LT_EXPORT int socketpair(int domain, int type, int protocol, int fds[2]) {
  REAL_OR_ENOSYS(socketpair);
  const int rc = real.socketpair(domain, type, protocol, fds);
  if (rc == 0 && TrackingThisCall()) {
    ErrnoKeeper keep;
    RecordFdPair(fds, SocketLabel(domain, type));
  }
  return rc;
}

LT_EXPORT int accept(int sockfd, struct sockaddr* addr, socklen_t* addrlen) {
  REAL_OR_ENOSYS(accept);
  return Copied(real.accept(sockfd, addr, addrlen), sockfd);
}

LT_EXPORT int accept4(int sockfd, struct sockaddr* addr, socklen_t* addrlen, int flags) {
  REAL_OR_ENOSYS(accept4);
  return Copied(real.accept4(sockfd, addr, addrlen, flags), sockfd);
}

LT_EXPORT ssize_t recvmsg(int sockfd, struct msghdr* msg, int flags) {
  REAL_OR_ENOSYS(recvmsg);
  const ssize_t n = real.recvmsg(sockfd, msg, flags);
  if (n >= 0 && msg != nullptr && msg->msg_controllen > 0 && TrackingThisCall()) RecordReceivedFds(msg);
  return n;
}

// The descriptors each message brings, as recvmsg's. With a timeout the
// call is a wait a signal handler cuts short (hooks_wait.cc): the dumper
// thread starts first.
LT_EXPORT int recvmmsg(int sockfd, struct mmsghdr* messages, unsigned count, int flags, struct timespec* timeout) {
  REAL_OR_ENOSYS(recvmmsg);
  if (timeout != nullptr) StartDumperBeforeWait();
  const int n = real.recvmmsg(sockfd, messages, count, flags, timeout);
  if (n > 0 && messages != nullptr && TrackingThisCall()) {
    for (int i = 0; i < n; ++i)
      if (messages[i].msg_hdr.msg_controllen > 0) RecordReceivedFds(&messages[i].msg_hdr);
  }
  return n;
}

// ---- pipes and copies --------------------------------------------------------

LT_EXPORT int pipe(int fds[2]) {
  REAL_OR_ENOSYS(pipe);
  const int rc = real.pipe(fds);
  if (rc == 0 && TrackingThisCall()) {
    ErrnoKeeper keep;
    RecordFdPair(fds, KindLabel("pipe"));
  }
  return rc;
}

LT_EXPORT int pipe2(int fds[2], int flags) {
  REAL_OR_ENOSYS(pipe2);
  const int rc = real.pipe2(fds, flags);
  if (rc == 0 && TrackingThisCall()) {
    ErrnoKeeper keep;
    RecordFdPair(fds, KindLabel("pipe"));
  }
  return rc;
}

LT_EXPORT int dup(int fd) {
  REAL_OR_ENOSYS(dup);
  if (LT_UNLIKELY(IsPrivateFd(fd))) return NotTheProgramsFd();
  return Copied(real.dup(fd), fd);
}

// dup2/dup3 onto one of leaktrace's private descriptors moves ours away
// first (private_fds.h): the program gets the number it asked for. Not in a
// vfork child, whose descriptors are not ours (CallSharesOurDescriptors).
// dup2/dup3 onto an open descriptor close it: recording the copy over its
// slot forgets it. The number stays taken throughout, so no other thread can
// be handed it in between.
// The target's record is taken before the real call (and put back if it
// fails), like close: a snapshot checking the kind of what was opened there
// (fd_kind.h, kUnverifiedKind) never looks at the copy in its place.
LT_EXPORT int dup2(int fd, int target) {
  REAL_OR_ENOSYS(dup2);
  if (LT_UNLIKELY(IsPrivateFd(fd))) return NotTheProgramsFd();
  if (LT_UNLIKELY(IsPrivateFd(target)) && fd != target && CallSharesOurDescriptors()) YieldPrivateFd(target);
  if (fd == target || !TrackingThisCall()) return real.dup2(fd, target);  // dup2(fd, fd): nothing happens
  const uint64_t taken = TakeFdForReplace(target);
  const int rc = real.dup2(fd, target);
  if (rc < 0) {
    ErrnoKeeper keep;
    RestoreFd(target, taken);
    return rc;
  }
  return Copied(rc, fd);
}

LT_EXPORT int dup3(int fd, int target, int flags) {
  REAL_OR_ENOSYS(dup3);
  if (LT_UNLIKELY(IsPrivateFd(fd))) return NotTheProgramsFd();
  if (LT_UNLIKELY(IsPrivateFd(target)) && fd != target && CallSharesOurDescriptors()) YieldPrivateFd(target);
  if (fd == target || !TrackingThisCall()) return real.dup3(fd, target, flags);  // EINVAL, nothing closed
  const uint64_t taken = TakeFdForReplace(target);
  const int rc = real.dup3(fd, target, flags);
  if (rc < 0) {
    ErrnoKeeper keep;
    RestoreFd(target, taken);
    return rc;
  }
  return Copied(rc, fd);
}

LT_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  EnsureReal();
  const int rc = DupFcntl(real.fcntl, fd, cmd, ap);
  va_end(ap);
  return rc;
}

LT_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  EnsureReal();
  const int rc = DupFcntl(real.fcntl64 ? real.fcntl64 : real.fcntl, fd, cmd, ap);
  va_end(ap);
  return rc;
}

// ---- special descriptors ---------------------------------------------------

LT_EXPORT int epoll_create(int size) {
  REAL_OR_ENOSYS(epoll_create);
  return Made(real.epoll_create(size), "epoll");
}

LT_EXPORT int epoll_create1(int flags) {
  REAL_OR_ENOSYS(epoll_create1);
  return Made(real.epoll_create1(flags), "epoll");
}

LT_EXPORT int eventfd(unsigned int initval, int flags) {
  REAL_OR_ENOSYS(eventfd);
  return Made(real.eventfd(initval, flags), "eventfd");
}

LT_EXPORT int timerfd_create(int clockid, int flags) {
  REAL_OR_ENOSYS(timerfd_create);
  return Made(real.timerfd_create(clockid, flags), "timerfd");
}

LT_EXPORT int signalfd(int fd, const sigset_t* mask, int flags) {
  REAL_OR_ENOSYS(signalfd);
  ProgramWaitsForSignals(mask);  // the snapshot signal among them: the program's (dumper.h)
  const int rc = real.signalfd(fd, mask, flags);
  if (fd != -1) return rc;  // changed the mask of an existing one
  return Made(rc, "signalfd");
}

LT_EXPORT int inotify_init() {
  REAL_OR_ENOSYS(inotify_init);
  return Made(real.inotify_init(), "inotify");
}

LT_EXPORT int inotify_init1(int flags) {
  REAL_OR_ENOSYS(inotify_init1);
  return Made(real.inotify_init1(flags), "inotify");
}

LT_EXPORT int memfd_create(const char* name, unsigned int flags) {
  EnsureReal();
  const int fd = real.memfd_create ? real.memfd_create(name, flags)
                                      : static_cast<int>(RawSyscall(SYS_memfd_create, name, flags));
  return Made(fd, "memfd");
}

// syscall(SYS_memfd_create, name, flags) as the program makes it (a JVM's
// ZGC makes its heap's memfd so), from syscall_entry.S: as memfd_create,
// so the descriptor is counted.
extern "C" LT_HIDDEN long leaktrace_memfd_create_syscall(long, long name, long flags) {
  return memfd_create(reinterpret_cast<const char*>(name), static_cast<unsigned int>(flags));
}

// ---- opened inside the C library (its internal open never reaches us) -----

LT_EXPORT int shm_open(const char* name, int flags, mode_t mode) {
  REAL_OR_ENOSYS(shm_open);
  const int fd = real.shm_open(name, flags, mode);
  if (fd >= 0 && TrackingThisCall()) RecordProbedFd(fd);  // labelled by its /dev/shm path
  return fd;
}

// mkstemp and friends: `templ` holds the file's name once they return.
LT_EXPORT int mkstemp(char* templ) {
  REAL_OR_ENOSYS(mkstemp);
  return Opened(real.mkstemp(templ), templ);
}

LT_EXPORT int mkostemp(char* templ, int flags) {
  REAL_OR_ENOSYS(mkostemp);
  return Opened(real.mkostemp(templ, flags), templ);
}

LT_EXPORT int mkstemps(char* templ, int suffix_length) {
  REAL_OR_ENOSYS(mkstemps);
  return Opened(real.mkstemps(templ, suffix_length), templ);
}

LT_EXPORT int mkostemps(char* templ, int suffix_length, int flags) {
  REAL_OR_ENOSYS(mkostemps);
  return Opened(real.mkostemps(templ, suffix_length, flags), templ);
}

LT_EXPORT int posix_openpt(int flags) {
  REAL_OR_ENOSYS(posix_openpt);
  return Made(real.posix_openpt(flags), "pty");
}

// openpty and forkpty open the pair inside libc (its own posix_openpt and
// open, which no hook sees): recorded here, both ends of openpty's, and the
// master forkpty leaves the parent (it closes the other end itself; the
// child keeps neither under those numbers).
LT_EXPORT int openpty(int* master, int* slave, char* name, const struct termios* termp,
                      const struct winsize* winp) {
  REAL_OR_ENOSYS(openpty);
  const int rc = real.openpty(master, slave, name, termp, winp);
  if (rc == 0 && TrackingThisCall()) {
    ErrnoKeeper keep;
    const int fds[2] = {*master, *slave};
    RecordFdPair(fds, KindLabel("pty"));
  }
  return rc;
}

LT_EXPORT pid_t forkpty(int* master, char* name, const struct termios* termp, const struct winsize* winp) {
  REAL_OR_ENOSYS(forkpty);
  pid_t pid = real.forkpty(master, name, termp, winp);
  if (LT_UNLIKELY(RetryForkRefused(pid)))  // hooks_fork.h
    WaitForTheDumpersSlot([&] { return (pid = real.forkpty(master, name, termp, winp)) < 0 && errno == EAGAIN; });
  if (pid > 0) Made(*master, "pty");
  return pid;
}
