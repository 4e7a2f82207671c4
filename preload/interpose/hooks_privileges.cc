// The set*id family, and initgroups (libc's own call of setgroups inside
// it is seen by no hook). glibc runs each of these on every thread of the process
// and aborts the process if any thread fails; leaktrace's dumper thread may
// lack what the calling thread has (capabilities and PR_SET_KEEPCAPS are per
// thread: setpriv, libcap-ng's privilege drops). So the dumper thread is
// stopped for the duration of the call and started again afterwards. A
// drop from root also makes the process non-dumpable, which closes
// /proc/self/pagemap to it: it is opened before the call and kept
// (process_memory.h).
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/internal/compiler.h"
#include "preload/interpose/real_functions.h"
#include "preload/snapshot/dumper.h"
#include "preload/snapshot/process_memory.h"
#include "preload/internal/private_fds.h"
#include "preload/internal/raw_syscall.h"
#include "preload/snapshot/process_info.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"
#include "preload/resources/working_dir.h"

using namespace leaktrace::preload;

namespace {

// Runs `call` with the dumper thread stopped, in the process that owns it (a
// vfork child shares our memory and must leave the thread alone).
template <typename Call>
int WithoutDumper(Call&& call) {
  const bool active = (g_mode == Mode::kSampled || g_mode == Mode::kExact) && t_state.busy == 0 &&
                      getpid() == g_process.pid;
  if (!active) return call();
  PauseDumper();
  const int result = call();
  const int saved_errno = errno;
  ResumeDumper();
  errno = saved_errno;
  return result;
}

// The set*id family: WithoutDumper, and /proc/self/pagemap kept open when
// the call leaves the process non-dumpable.
template <typename Call>
int ChangingIds(Call&& call) {
  const bool active = (g_mode == Mode::kSampled || g_mode == Mode::kExact) && t_state.busy == 0 &&
                      getpid() == g_process.pid;
  if (!active) return call();
  const int saved_errno = errno;
  KeepPagemapBeforeIdChange();
  errno = saved_errno;
  const int result = WithoutDumper(call);
  const int call_errno = errno;
  SettlePagemapAfterIdChange();
  errno = call_errno;
  return result;
}

}  // namespace

#define LT_FORWARD_ID_CALL(name, params, args)                          \
  LT_EXPORT int name params {                                           \
    EnsureReal();                                                       \
    const auto next = real.name;                                        \
    if (LT_UNLIKELY(next == nullptr)) {                                 \
      errno = ENOSYS;                                                   \
      return -1;                                                        \
    }                                                                   \
    return ChangingIds([&] { return next args; });                      \
  }

LT_FORWARD_ID_CALL(setuid, (uid_t uid), (uid))
LT_FORWARD_ID_CALL(setgid, (gid_t gid), (gid))
LT_FORWARD_ID_CALL(seteuid, (uid_t uid), (uid))
LT_FORWARD_ID_CALL(setegid, (gid_t gid), (gid))
LT_FORWARD_ID_CALL(setreuid, (uid_t r, uid_t e), (r, e))
LT_FORWARD_ID_CALL(setregid, (gid_t r, gid_t e), (r, e))
LT_FORWARD_ID_CALL(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
LT_FORWARD_ID_CALL(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
LT_FORWARD_ID_CALL(setgroups, (size_t n, const gid_t* groups), (n, groups))
// Inside libc initgroups calls setgroups by a call no hook sees.
LT_FORWARD_ID_CALL(initgroups, (const char* user, gid_t group), (user, group))

// unshare and setns into a user namespace (and unshare of CLONE_VM,
// CLONE_SIGHAND, CLONE_THREAD) need a single-threaded process: the kernel
// refuses them (EINVAL) while the dumper thread exists. So it is stopped for
// the call, and the call waits, briefly, until the kernel has let the
// stopped thread go (pthread_join returns a moment before the kernel stops
// counting it).
namespace {

// Threads of this process as the kernel counts them (/proc/self/stat), or
// -1. Raw system calls only.
int KernelThreadCount() {
  const int fd = OpenPrivateFd("/proc/self/stat", O_RDONLY, 0, nullptr);
  if (fd < 0) return -1;
  char buf[1024];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  ClosePrivateFd(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');  // the name may hold spaces and parentheses
  if (p == nullptr) return -1;
  for (int field = 2; field < 20 && *p != '\0'; ++p)  // num_threads is field 20
    if (*p == ' ') ++field;
  return atoi(p);
}

template <typename Call>
int WithoutDumperAlone(Call&& call) {
  // Only the process that owns the dumper thread has one to wait for. A
  // child sharing our memory (vfork, or clone with CLONE_VM: stress-ng's
  // clone stressor unshares in such children) reads our state but has no
  // thread of ours, and waited out the 100 ms below at every call.
  if (getpid() != g_process.pid) return call();
  const int before = KernelThreadCount();
  return WithoutDumper([&] {
    const int want = before - (DumperThreadId() == 0 ? 0 : 1);
    for (int i = 0; i < 200 && before > 0 && KernelThreadCount() > want; ++i) {
      const timespec pause = {0, 500 * 1000};  // 0.5 ms, 100 ms at most
      nanosleep(&pause, nullptr);
    }
    return call();
  });
}

// NoThreadsAfterPidNamespace, for the process the library's state is: a
// vfork child's unshare (its memory is the parent's) leaves it alone.
void NoThreadsAfterOwnPidNamespace() {
  if (static_cast<pid_t>(RawSyscall(SYS_getpid)) == g_process.pid) NoThreadsAfterPidNamespace();
}

}  // namespace

LT_EXPORT int unshare(int flags) {
  EnsureReal();
  const auto next = real.unshare;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  // A thread that unshares its working directory may move it alone:
  // leaktrace keeps no process-wide one from then on (working_dir.h).
  if (flags & CLONE_FS) WorkingDirectoryNeverKept();
  // A mount namespace of its own: the program may unmount /proc next.
  if (flags & CLONE_NEWNS) ReadExePathBeforeRootMoves();
  constexpr int kNeedsOneThread = CLONE_NEWUSER | CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
  // A pid namespace for its children: no thread can start after it, so the
  // dumper thread starts first if it is still to come (as before
  // RLIMIT_NPROC), unless the call needs the process alone.
  if ((flags & CLONE_NEWPID) && (flags & kNeedsOneThread) == 0) StartDumperBeforeProcessLimit();
  // Noted before a paused dumper thread is started again (WithoutDumper).
  const auto call = [&] {
    const int result = next(flags);
    if (result == 0 && (flags & CLONE_NEWPID)) NoThreadsAfterOwnPidNamespace();
    return result;
  };
  if ((flags & kNeedsOneThread) == 0) return call();
  return WithoutDumperAlone(call);
}

LT_EXPORT int setns(int fd, int nstype) {
  EnsureReal();
  const auto next = real.setns;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  // Entering a mount namespace moves the working directory and the root.
  if (nstype == 0 || (nstype & CLONE_NEWNS) != 0) ReadExePathBeforeRootMoves();
  WorkingDirectoryChanging();
  int result;
  // 0: whatever namespace `fd` is, a user namespace perhaps.
  if (nstype == CLONE_NEWPID) StartDumperBeforeProcessLimit();  // as unshare's
  if (nstype != 0 && (nstype & CLONE_NEWUSER) == 0) result = next(fd, nstype);
  else result = WithoutDumperAlone([&] { return next(fd, nstype); });
  if (result == 0 && nstype == CLONE_NEWPID) NoThreadsAfterOwnPidNamespace();
  WorkingDirectoryChanged();  // atomics only: errno stays the call's
  return result;
}

// A limit on processes (RLIMIT_NPROC) set for this process: haproxy's
// workers set it to 0 once they run as nobody, and from then on no thread
// can start (pthread_create fails with EAGAIN). The dumper thread, started
// lazily (dumper.h), starts first if it is still to come; one that exists
// is not touched by the limit.
namespace {

void BeforeProcessLimit(int resource, pid_t pid) {
  if (resource == RLIMIT_NPROC && (pid == 0 || pid == getpid())) StartDumperBeforeProcessLimit();
}

int SetLimit(__rlimit_resource_t resource, const struct rlimit* limit) {
  EnsureReal();
  const auto next = real.setrlimit;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  if (limit != nullptr) BeforeProcessLimit(resource, 0);
  return next(resource, limit);
}

int SetProcessLimit(pid_t pid, enum __rlimit_resource resource, const struct rlimit* limit, struct rlimit* old) {
  EnsureReal();
  const auto next = real.prlimit;
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return -1;
  }
  if (limit != nullptr) BeforeProcessLimit(resource, pid);
  return next(pid, resource, limit, old);
}

}  // namespace

// The 64 variants take the same structures on 64-bit targets (glibc makes
// them aliases there).
static_assert(sizeof(struct rlimit) == sizeof(struct rlimit64));

LT_EXPORT int setrlimit(__rlimit_resource_t resource, const struct rlimit* limit) { return SetLimit(resource, limit); }

LT_EXPORT int setrlimit64(__rlimit_resource_t resource, const struct rlimit64* limit) {
  return SetLimit(resource, reinterpret_cast<const struct rlimit*>(limit));
}

LT_EXPORT int prlimit(pid_t pid, enum __rlimit_resource resource, const struct rlimit* limit, struct rlimit* old) {
  return SetProcessLimit(pid, resource, limit, old);
}

LT_EXPORT int prlimit64(pid_t pid, enum __rlimit_resource resource, const struct rlimit64* limit, struct rlimit64* old) {
  return SetProcessLimit(pid, resource, reinterpret_cast<const struct rlimit*>(limit), reinterpret_cast<struct rlimit*>(old));
}
