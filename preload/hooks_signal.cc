// sigaction and signal, watched for one thing: the program taking over the
// snapshot signal. The program's handler wins, always: leaktrace steps aside
// (snapshots by signal stop, the control block says signal=0 so
// `leaktrace snapshot` explains why), says so once, and forwards the call
// unchanged.
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>

#include "preload/compiler.h"
#include "preload/dumper.h"
#include "preload/thread_state.h"

using namespace leaktrace::preload;

namespace {

using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);
using SignalFn = sighandler_t (*)(int, sighandler_t);

template <typename Fn>
Fn Next(const char* name) {
  BusyScope busy;  // dlsym may allocate
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

LT_EXPORT int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  static SigactionFn next = Next<SigactionFn>("sigaction");
  if (LT_UNLIKELY(next == nullptr)) {  // no C library behind us: fail as the missing call would
    errno = ENOSYS;
    return -1;
  }
  if (act != nullptr) NoticeProgramHandler(sig, reinterpret_cast<void*>(act->sa_handler));
  return next(sig, act, old);
}

LT_EXPORT sighandler_t signal(int sig, sighandler_t handler) {
  static SignalFn next = Next<SignalFn>("signal");
  if (LT_UNLIKELY(next == nullptr)) {
    errno = ENOSYS;
    return SIG_ERR;
  }
  NoticeProgramHandler(sig, reinterpret_cast<void*>(handler));
  return next(sig, handler);
}
