// The program's waits that a signal handler would cut short: sleeps, poll,
// select, epoll_wait, pause, sigsuspend, sem_wait, System V semaphores and
// message queues, and a socket given a timeout. With a handler installed,
// these return EINTR (or early) when a signal arrives, SA_RESTART or not
// (signal(7)); the other blocking calls (read, accept, waitpid ...) are
// restarted unseen. leaktrace's dumper thread starts lazily (dumper.h):
// until it runs, a snapshot signal goes to one thread of the program. So
// the thread starts before the program first waits in one of these, and a
// process idle in one of them has it: the snapshot signal goes to that
// thread alone and interrupts nothing. In a process of one thread (no
// interval, no interposer after leaktrace that owns these calls) the
// sleeps, poll, ppoll, select, pselect and the epoll_waits are instead made
// in slices (sliced_wait.h), which look for `leaktrace snapshot`'s request
// between them and start the thread only then: a second thread would cost
// the program glibc's one-thread shortcuts for good (dumper.h); not when
// the process keeps no control block a request could come through. The others
// (pause, sigsuspend, the semaphores and message queues, sockets with a
// timeout, select past FD_SETSIZE) have no timeout to slice by, and start
// the thread as before.
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
#include <link.h>
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
#include "preload/internal/elf_symbols.h"
#include "preload/internal/kernel_clock.h"
#include "preload/interpose/real_functions.h"
#include "preload/interpose/sliced_wait.h"
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

// Whether the waits made in slices are the C library's own: an interposer
// after leaktrace that scales timeouts (libfaketime's speed-up) would make
// slices counted on the kernel's clock wrong, so with one there the thread
// starts before the wait, as before. Looked up once.
bool WaitsAreTheCLibrarys() {
  static std::atomic<int> known{0};  // 1 yes, 2 no
  int k = known.load(std::memory_order_relaxed);
  if (LT_UNLIKELY(k == 0)) {
    const link_map* libc = LibcModule();
    const struct {
      const char* name;
      void* real;
    } waits[] = {{"nanosleep", reinterpret_cast<void*>(real.nanosleep)},
                 {"clock_nanosleep", reinterpret_cast<void*>(real.clock_nanosleep)},
                 {"sleep", reinterpret_cast<void*>(real.sleep)},
                 {"usleep", reinterpret_cast<void*>(real.usleep)},
                 {"poll", reinterpret_cast<void*>(real.poll)},
                 {"__poll_chk", reinterpret_cast<void*>(real.poll_chk)},
                 {"ppoll", reinterpret_cast<void*>(real.ppoll)},
                 {"__ppoll_chk", reinterpret_cast<void*>(real.ppoll_chk)},
                 {"select", reinterpret_cast<void*>(real.select)},
                 {"pselect", reinterpret_cast<void*>(real.pselect)},
                 {"epoll_wait", reinterpret_cast<void*>(real.epoll_wait)},
                 {"epoll_pwait", reinterpret_cast<void*>(real.epoll_pwait)},
                 {"epoll_pwait2", reinterpret_cast<void*>(real.epoll_pwait2)}};
    bool all = libc != nullptr;
    for (const auto& w : waits)
      if (w.real != nullptr && FunctionDefinedIn(libc, w.name) != w.real) all = false;
    k = all ? 1 : 2;
    known.store(k, std::memory_order_relaxed);
  }
  return k == 1;
}

// An absolute clock_nanosleep (CPython's time.sleep) in slices: each an
// absolute sleep on the same clock to the slice's end or the deadline,
// whichever comes first; the last one the program's own call. The clock is
// the kernel's (no interposer defines clock_nanosleep here:
// WaitsAreTheCLibrarys). A clock leaktrace cannot read, or a malformed
// deadline: the call whole, the thread started before it.
template <typename Fn>
int SlicedUntil(Fn next, clockid_t clock, int flags, const struct timespec* request, struct timespec* remaining) {
  const int64_t deadline = sliced_wait::LengthNs(request);
  int64_t slice = sliced_wait::kFirstSliceNs;
  for (;;) {
    struct timespec now;
    int read;
    {
      ErrnoKept errno_kept;  // a clock it cannot read: the program's errno stays
      read = KernelClockGettime(clock, &now);
    }
    if (deadline < 0 || deadline == sliced_wait::kForever || read != 0) {
      StartDumperBeforeWait();
      return next(clock, flags, request, remaining);
    }
    const int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
    if (deadline - now_ns <= slice) return next(clock, flags, request, remaining);
    const struct timespec until = sliced_wait::ToTimespec(now_ns + slice);
    const int rc = next(clock, flags, &until, remaining);
    if (rc != 0) return rc;  // EINTR: what the call tells of it (no time left to tell, absolute)
    if (ServeRequestBetweenSlices()) return next(clock, flags, request, remaining);
    slice = slice * 2 < sliced_wait::kLongestSliceNs ? slice * 2 : sliced_wait::kLongestSliceNs;
  }
}

// The real function of a wait that can be made in slices (sliced_wait.h);
// `*sliced` says whether it is (a process of one thread, dumper.h), else
// the thread has started if it was due.
template <typename Fn>
LT_ALWAYS_INLINE Fn BeforeSliceableWait(Fn RealFunctions::*member, bool* sliced) {
  EnsureReal();
  *sliced = SliceWaitInsteadOfStartingDumper();
  if (LT_UNLIKELY(*sliced) && !WaitsAreTheCLibrarys()) {
    *sliced = false;
    StartDumperBeforeWait();
  }
  return real.*member;
}

}  // namespace

LT_EXPORT int nanosleep(const struct timespec* request, struct timespec* remaining) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::nanosleep, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced)) return next(request, remaining);
  return sliced_wait::Sleep(request, remaining, next, [](int rc) { return rc == -1 && errno == EINTR; });
}

LT_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec* request, struct timespec* remaining) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::clock_nanosleep, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return ENOSYS;  // returns the error
  if (LT_LIKELY(!sliced)) return next(clock, flags, request, remaining);
  if ((flags & TIMER_ABSTIME) != 0) return SlicedUntil(next, clock, flags, request, remaining);
  return sliced_wait::Sleep(
      request, remaining,
      [next, clock, flags](const struct timespec* r, struct timespec* left) { return next(clock, flags, r, left); },
      [](int rc) { return rc == EINTR; });
}

LT_EXPORT unsigned sleep(unsigned seconds) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::sleep, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return seconds;
  if (LT_LIKELY(!sliced) || seconds <= 1) return next(seconds);
  // Slices of whole seconds (1, 2, then 2 at a time): what an interrupted
  // one left unslept, plus the slices to come, is what sleep tells.
  unsigned slice = 1;
  while (seconds > slice) {
    const unsigned unslept = next(slice);
    if (unslept != 0) return unslept + (seconds - slice);
    seconds -= slice;
    if (ServeRequestBetweenSlices()) break;
    slice = 2;
  }
  return next(seconds);
}

LT_EXPORT int usleep(useconds_t microseconds) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::usleep, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced) || microseconds <= 100000) return next(microseconds);
  useconds_t slice = 100000;
  while (microseconds > slice) {
    if (next(slice) != 0) return -1;  // EINTR (what usleep tells of an interruption)
    microseconds -= slice;
    if (ServeRequestBetweenSlices()) break;
    slice = slice * 2 < 2000000 ? slice * 2 : 2000000;
  }
  return next(microseconds);
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
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::poll, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced)) return next(fds, count, timeout_ms);
  return sliced_wait::InMilliseconds(timeout_ms, [&](int ms) { return next(fds, count, ms); });
}

LT_EXPORT int __poll_chk(struct pollfd* fds, nfds_t count, int timeout_ms, size_t fds_size) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::poll_chk, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced)) return next(fds, count, timeout_ms, fds_size);
  return sliced_wait::InMilliseconds(timeout_ms, [&](int ms) { return next(fds, count, ms, fds_size); });
}

LT_EXPORT int ppoll(struct pollfd* fds, nfds_t count, const struct timespec* timeout, const sigset_t* mask) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::ppoll, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced)) return next(fds, count, timeout, mask);
  return sliced_wait::InTimespec(timeout, [&](const struct timespec* t) { return next(fds, count, t, mask); });
}

LT_EXPORT int __ppoll_chk(struct pollfd* fds, nfds_t count, const struct timespec* timeout, const sigset_t* mask,
                          size_t fds_size) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::ppoll_chk, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced)) return next(fds, count, timeout, mask, fds_size);
  return sliced_wait::InTimespec(timeout,
                                 [&](const struct timespec* t) { return next(fds, count, t, mask, fds_size); });
}

LT_EXPORT int select(int count, fd_set* read, fd_set* write, fd_set* except, struct timeval* timeout) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::select, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  int rc;
  if (LT_UNLIKELY(sliced) &&
      sliced_wait::Select(count, read, write, except, timeout,
                          [&](struct timeval* t) { return next(count, read, write, except, t); }, &rc))
    return rc;
  if (sliced) StartDumperBeforeWait();  // sets too large to slice: the thread, as before
  return next(count, read, write, except, timeout);
}

LT_EXPORT int pselect(int count, fd_set* read, fd_set* write, fd_set* except, const struct timespec* timeout,
                      const sigset_t* mask) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::pselect, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced) || sliced_wait::LengthNs(timeout) <= sliced_wait::kFirstSliceNs)
    return next(count, read, write, except, timeout, mask);  // short, or malformed: to fail as it would
  // The timeout is not written back; the sets are, as select's.
  struct timeval told;
  struct timeval* told_ptr = nullptr;
  if (timeout != nullptr) {
    // Rounded up to microseconds, never shorter than asked.
    told = {timeout->tv_sec, static_cast<suseconds_t>((timeout->tv_nsec + 999) / 1000)};
    if (told.tv_usec >= 1000000) told.tv_sec += 1, told.tv_usec -= 1000000;
    told_ptr = &told;
  }
  int rc;
  const auto call = [&](struct timeval* t) {
    if (t == nullptr) return next(count, read, write, except, nullptr, mask);
    const struct timespec slice = {t->tv_sec, t->tv_usec * 1000};
    return next(count, read, write, except, &slice, mask);
  };
  if (sliced_wait::Select(count, read, write, except, told_ptr, call, &rc)) return rc;
  StartDumperBeforeWait();  // sets too large to slice
  return next(count, read, write, except, timeout, mask);
}

LT_EXPORT int epoll_wait(int epfd, struct epoll_event* events, int count, int timeout_ms) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::epoll_wait, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced)) return next(epfd, events, count, timeout_ms);
  return sliced_wait::InMilliseconds(timeout_ms, [&](int ms) { return next(epfd, events, count, ms); });
}

LT_EXPORT int epoll_pwait(int epfd, struct epoll_event* events, int count, int timeout_ms, const sigset_t* mask) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::epoll_pwait, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced)) return next(epfd, events, count, timeout_ms, mask);
  return sliced_wait::InMilliseconds(timeout_ms, [&](int ms) { return next(epfd, events, count, ms, mask); });
}

LT_EXPORT int epoll_pwait2(int epfd, struct epoll_event* events, int count, const struct timespec* timeout,
                           const sigset_t* mask) {
  bool sliced;
  const auto next = BeforeSliceableWait(&RealFunctions::epoll_pwait2, &sliced);
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_LIKELY(!sliced)) return next(epfd, events, count, timeout, mask);
  return sliced_wait::InTimespec(timeout, [&](const struct timespec* t) { return next(epfd, events, count, t, mask); });
}

// A semaphore that can be taken at once is no wait (CPython takes one in
// its start-up): tried first (sem_trywait: true when taken, then the call
// is done), the thread starts only before a real wait.
namespace {

bool TakenAtOnce(sem_t* sem) {
  if (real.sem_trywait == nullptr) return false;
  ErrnoKept errno_kept;  // a failed try is not the program's
  return real.sem_trywait(sem) == 0;
}

}  // namespace

LT_EXPORT int sem_wait(sem_t* sem) {
  EnsureReal();
  const auto next = real.sem_wait;
  if (LT_UNLIKELY(next == nullptr)) return NoFunction();
  if (LT_UNLIKELY(g_lazy_start_armed.load(std::memory_order_relaxed))) {
    if (TakenAtOnce(sem)) return 0;
    StartDumperBeforeWait();
  }
  return next(sem);
}

// (The timed ones are not tried first: glibc refuses a malformed deadline
// or clock before it looks at the semaphore, EINVAL where a try takes it.)
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
