// The set*id family. glibc runs each of these on every thread of the process
// and aborts the process if any thread fails; leaktrace's dumper thread may
// lack what the calling thread has (capabilities and PR_SET_KEEPCAPS are per
// thread: setpriv, libcap-ng's privilege drops). So the dumper thread is
// stopped for the duration of the call and started again afterwards.
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include "preload/compiler.h"
#include "preload/dumper.h"
#include "preload/process_info.h"
#include "preload/thread_state.h"
#include "preload/tracker.h"

using namespace leaktrace::preload;

namespace {

template <typename Fn>
Fn Next(const char* name) {
  BusyScope busy;  // dlsym may allocate
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

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

}  // namespace

#define LT_FORWARD_ID_CALL(name, params, args)                          \
  LT_EXPORT int name params {                                           \
    using Fn = int(*) params;                                           \
    static Fn next = Next<Fn>(#name);                                   \
    if (LT_UNLIKELY(next == nullptr)) {                                 \
      errno = ENOSYS;                                                   \
      return -1;                                                        \
    }                                                                   \
    return WithoutDumper([&] { return next args; });                    \
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
