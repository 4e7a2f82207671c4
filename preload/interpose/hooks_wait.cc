// The program's waits that a signal handler would cut short: sleeps, poll,
// select, epoll_wait, pause, sigsuspend, sem_wait, System V semaphores and
// message queues, and a socket given a timeout. With a handler installed,
// these return EINTR (or early) when a signal arrives, SA_RESTART or not
// (signal(7)); the other blocking calls (read, accept, waitpid ...) are
// restarted unseen. leaktrace's dumper thread starts lazily (dumper.h):
// until it runs, a snapshot signal goes to one thread of the program. So
// the thread starts before the program first waits in one of these, and a
// process idle in one of them has it: the snapshot signal goes to that
// thread alone and interrupts nothing.
//
// (sigwait, sigwaitinfo and sigtimedwait do the same in hooks_signal.cc;
// recvmmsg with a timeout in hooks_fd.cc.) A socket's receive or send
// timeout (SO_RCVTIMEO, SO_SNDTIMEO) makes its recv, send, accept and
// connect calls waits of this kind, in a call that looks like any other:
// the thread starts when the program sets the timeout. Once the thread
// runs (or will never run), each hook is two loads (the real functions'
// state, the lazy start's flag) and a call. Not covered: the same waits
// made as raw system calls (syscall(SYS_nanosleep), inline assembly),
// io_getevents (libaio's, not the C library's), a timeout set before a
// fork on a socket the child then waits on, and a blocking write that has
// moved part of its data (it returns the part): in a process that has made
// no covered wait, `leaktrace snapshot` signals no thread it sees in one
// of those (it asks for the thread, which starts at the next tracked
// event, or waits for a better moment: docs/cli.md), but `kill -USR2` may
// cut one short. A wait
// made in a signal handler starts no thread (dumper.cc: pthread_create
// allocates).
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "preload/internal/compiler.h"
#include "preload/internal/errno_kept.h"
#include "preload/interpose/real_functions.h"
#include "preload/snapshot/dumper.h"

using namespace leaktrace::preload;

namespace {

// The real function, after the dumper thread's start if it is due (and
// the call `may_wait`); nullptr when the C library has none (the hook then
// fails with ENOSYS, as the missing function would have failed to link).
template <typename Fn>
LT_ALWAYS_INLINE Fn BeforeWait(Fn RealFunctions::*member, bool may_wait = true) {
  EnsureReal();
  if (may_wait) StartDumperBeforeWait();
  return real.*member;
}

int NoFunction() {
  errno = ENOSYS;
  return -1;
}

}  // namespace

LT_EXPORT int nanosleep(const struct timespec* request, struct timespec* remaining) {
  const auto next = BeforeWait(&RealFunctions::nanosleep);
  return LT_LIKELY(next != nullptr) ? next(request, remaining) : NoFunction();
}

LT_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec* request, struct timespec* remaining) {
  const auto next = BeforeWait(&RealFunctions::clock_nanosleep);
  return LT_LIKELY(next != nullptr) ? next(clock, flags, request, remaining) : ENOSYS;  // returns the error
}

LT_EXPORT unsigned sleep(unsigned seconds) {
  const auto next = BeforeWait(&RealFunctions::sleep);
  return LT_LIKELY(next != nullptr) ? next(seconds) : seconds;
}

LT_EXPORT int usleep(useconds_t microseconds) {
  const auto next = BeforeWait(&RealFunctions::usleep);
  return LT_LIKELY(next != nullptr) ? next(microseconds) : NoFunction();
}

LT_EXPORT int pause() {
  const auto next = BeforeWait(&RealFunctions::pause);
  return LT_LIKELY(next != nullptr) ? next() : NoFunction();
}

LT_EXPORT int sigsuspend(const sigset_t* mask) {
  const auto next = BeforeWait(&RealFunctions::sigsuspend);
  return LT_LIKELY(next != nullptr) ? next(mask) : NoFunction();
}

LT_EXPORT int poll(struct pollfd* fds, nfds_t count, int timeout_ms) {
  const auto next = BeforeWait(&RealFunctions::poll);
  return LT_LIKELY(next != nullptr) ? next(fds, count, timeout_ms) : NoFunction();
}

LT_EXPORT int __poll_chk(struct pollfd* fds, nfds_t count, int timeout_ms, size_t fds_size) {
  const auto next = BeforeWait(&RealFunctions::poll_chk);
  return LT_LIKELY(next != nullptr) ? next(fds, count, timeout_ms, fds_size) : NoFunction();
}

LT_EXPORT int ppoll(struct pollfd* fds, nfds_t count, const struct timespec* timeout, const sigset_t* mask) {
  const auto next = BeforeWait(&RealFunctions::ppoll);
  return LT_LIKELY(next != nullptr) ? next(fds, count, timeout, mask) : NoFunction();
}

LT_EXPORT int __ppoll_chk(struct pollfd* fds, nfds_t count, const struct timespec* timeout, const sigset_t* mask,
                          size_t fds_size) {
  const auto next = BeforeWait(&RealFunctions::ppoll_chk);
  return LT_LIKELY(next != nullptr) ? next(fds, count, timeout, mask, fds_size) : NoFunction();
}

LT_EXPORT int select(int count, fd_set* read, fd_set* write, fd_set* except, struct timeval* timeout) {
  const auto next = BeforeWait(&RealFunctions::select);
  return LT_LIKELY(next != nullptr) ? next(count, read, write, except, timeout) : NoFunction();
}

LT_EXPORT int pselect(int count, fd_set* read, fd_set* write, fd_set* except, const struct timespec* timeout,
                      const sigset_t* mask) {
  const auto next = BeforeWait(&RealFunctions::pselect);
  return LT_LIKELY(next != nullptr) ? next(count, read, write, except, timeout, mask) : NoFunction();
}

LT_EXPORT int epoll_wait(int epfd, struct epoll_event* events, int count, int timeout_ms) {
  const auto next = BeforeWait(&RealFunctions::epoll_wait);
  return LT_LIKELY(next != nullptr) ? next(epfd, events, count, timeout_ms) : NoFunction();
}

LT_EXPORT int epoll_pwait(int epfd, struct epoll_event* events, int count, int timeout_ms, const sigset_t* mask) {
  const auto next = BeforeWait(&RealFunctions::epoll_pwait);
  return LT_LIKELY(next != nullptr) ? next(epfd, events, count, timeout_ms, mask) : NoFunction();
}

LT_EXPORT int epoll_pwait2(int epfd, struct epoll_event* events, int count, const struct timespec* timeout,
                           const sigset_t* mask) {
  const auto next = BeforeWait(&RealFunctions::epoll_pwait2);
  return LT_LIKELY(next != nullptr) ? next(epfd, events, count, timeout, mask) : NoFunction();
}

LT_EXPORT int sem_wait(sem_t* sem) {
  const auto next = BeforeWait(&RealFunctions::sem_wait);
  return LT_LIKELY(next != nullptr) ? next(sem) : NoFunction();
}

LT_EXPORT int sem_timedwait(sem_t* sem, const struct timespec* deadline) {
  const auto next = BeforeWait(&RealFunctions::sem_timedwait);
  return LT_LIKELY(next != nullptr) ? next(sem, deadline) : NoFunction();
}

LT_EXPORT int sem_clockwait(sem_t* sem, clockid_t clock, const struct timespec* deadline) {
  const auto next = BeforeWait(&RealFunctions::sem_clockwait);
  return LT_LIKELY(next != nullptr) ? next(sem, clock, deadline) : NoFunction();
}

// System V IPC: never restarted after a handler. A call that cannot wait
// (IPC_NOWAIT on every operation) starts nothing.
namespace {

bool MayWait(const struct sembuf* operations, size_t count) {
  if (operations == nullptr) return false;  // fails with EFAULT
  for (size_t i = 0; i < count; ++i)
    if ((operations[i].sem_flg & IPC_NOWAIT) == 0) return true;
  return false;
}

}  // namespace

LT_EXPORT int semop(int id, struct sembuf* operations, size_t count) {
  const auto next = BeforeWait(&RealFunctions::semop, MayWait(operations, count));
  return LT_LIKELY(next != nullptr) ? next(id, operations, count) : NoFunction();
}

LT_EXPORT int semtimedop(int id, struct sembuf* operations, size_t count, const struct timespec* timeout) {
  const auto next = BeforeWait(&RealFunctions::semtimedop, MayWait(operations, count));
  return LT_LIKELY(next != nullptr) ? next(id, operations, count, timeout) : NoFunction();
}

LT_EXPORT ssize_t msgrcv(int id, void* message, size_t size, long type, int flags) {
  const auto next = BeforeWait(&RealFunctions::msgrcv, (flags & IPC_NOWAIT) == 0);
  return LT_LIKELY(next != nullptr) ? next(id, message, size, type, flags) : NoFunction();
}

LT_EXPORT int msgsnd(int id, const void* message, size_t size, int flags) {
  const auto next = BeforeWait(&RealFunctions::msgsnd, (flags & IPC_NOWAIT) == 0);  // waits while the queue is full
  return LT_LIKELY(next != nullptr) ? next(id, message, size, flags) : NoFunction();
}

namespace {

// Whether a successful setsockopt gave the socket a receive or send
// timeout (a zero one means none). The kernel has read the value, so it is
// there to read. SO_RCVTIMEO_NEW's value has the layout of a timeval on
// 64-bit targets; elsewhere its 64-bit seconds are read as much of it as
// fits, which tells zero from non-zero all the same.
bool SetsATimeout(int level, int option, const void* value, socklen_t length) {
  if (level != SOL_SOCKET || value == nullptr || length < sizeof(struct timeval)) return false;
  switch (option) {
    case SO_RCVTIMEO: case SO_SNDTIMEO:
#if defined(SO_RCVTIMEO_NEW) && SO_RCVTIMEO_NEW != SO_RCVTIMEO
    case SO_RCVTIMEO_NEW: case SO_SNDTIMEO_NEW:
#endif
      break;
    default:
      return false;
  }
  struct timeval timeout;
  memcpy(&timeout, value, sizeof timeout);
  return timeout.tv_sec != 0 || timeout.tv_usec != 0;
}

}  // namespace

// A socket given a timeout: its later calls are waits a handler cuts short.
LT_EXPORT int setsockopt(int fd, int level, int option, const void* value, socklen_t length) {
  EnsureReal();
  if (LT_UNLIKELY(real.setsockopt == nullptr)) return NoFunction();
  const int rc = real.setsockopt(fd, level, option, value, length);
  if (rc == 0 && SetsATimeout(level, option, value, length)) {
    ErrnoKept keep;
    StartDumperBeforeWait();
  }
  return rc;
}
