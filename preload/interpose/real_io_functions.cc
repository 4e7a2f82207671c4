#include "preload/interpose/real_io_functions.h"

#include <dlfcn.h>

#include "preload/internal/compiler.h"
#include "preload/record/thread_state.h"

// The next vfork and clone after ours (glibc's, or an interposer's such as a
// sanitizer's), for interpose/vfork_entry.S; null until resolved, when the
// entry falls back to glibc's __vfork / __clone.
extern "C" __attribute__((visibility("hidden"))) void* leaktrace_real_vfork = nullptr;
extern "C" __attribute__((visibility("hidden"))) void* leaktrace_real_clone = nullptr;

namespace leaktrace::preload {

RealIo real_io = {};

namespace detail {
std::atomic<int> g_real_io_state{0};  // 0 not yet, 2 done
}  // namespace detail

namespace {

__thread bool t_resolving LT_INITIAL_EXEC = false;

template <typename Fn>
void Lookup(Fn& slot, const char* name) {
  slot = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

void detail::ResolveRealIoSlow() {
  if (t_resolving) return;  // re-entered from dlsym: callers fall back
  // Threads that get here together each look the functions up and store the
  // same values: no waiting, so no deadlock with a thread holding the
  // loader's lock (a constructor run by dlopen) while we sit in dlsym.
  t_resolving = true;
  RealIo r = {};
  {
    BusyScope busy;  // dlsym may allocate: those go through untracked
    Lookup(r.open, "open");
    Lookup(r.open64, "open64");
    Lookup(r.openat, "openat");
    Lookup(r.openat64, "openat64");
    Lookup(r.open_2, "__open_2");
    Lookup(r.open64_2, "__open64_2");
    Lookup(r.openat_2, "__openat_2");
    Lookup(r.openat64_2, "__openat64_2");
    Lookup(r.creat, "creat");
    Lookup(r.creat64, "creat64");
    Lookup(r.close, "close");
    Lookup(r.close_range, "close_range");
    Lookup(r.closefrom, "closefrom");
    Lookup(r.socket, "socket");
    Lookup(r.socketpair, "socketpair");
    Lookup(r.accept, "accept");
    Lookup(r.accept4, "accept4");
    Lookup(r.pipe, "pipe");
    Lookup(r.pipe2, "pipe2");
    Lookup(r.dup, "dup");
    Lookup(r.dup2, "dup2");
    Lookup(r.dup3, "dup3");
    Lookup(r.fcntl, "fcntl");
    Lookup(r.fcntl64, "fcntl64");
    Lookup(r.epoll_create, "epoll_create");
    Lookup(r.epoll_create1, "epoll_create1");
    Lookup(r.eventfd, "eventfd");
    Lookup(r.timerfd_create, "timerfd_create");
    Lookup(r.signalfd, "signalfd");
    Lookup(r.inotify_init, "inotify_init");
    Lookup(r.inotify_init1, "inotify_init1");
    Lookup(r.memfd_create, "memfd_create");
    Lookup(r.posix_openpt, "posix_openpt");
    Lookup(r.shm_open, "shm_open");
    Lookup(r.mkstemp, "mkstemp");
    Lookup(r.mkostemp, "mkostemp");
    Lookup(r.mkstemps, "mkstemps");
    Lookup(r.mkostemps, "mkostemps");
    Lookup(r.recvmsg, "recvmsg");
    Lookup(r.fopen, "fopen");
    Lookup(r.fopen64, "fopen64");
    Lookup(r.fdopen, "fdopen");
    Lookup(r.freopen, "freopen");
    Lookup(r.freopen64, "freopen64");
    Lookup(r.fclose, "fclose");
    Lookup(r.popen, "popen");
    Lookup(r.pclose, "pclose");
    Lookup(r.tmpfile, "tmpfile");
    Lookup(r.opendir, "opendir");
    Lookup(r.fdopendir, "fdopendir");
    Lookup(r.closedir, "closedir");
    Lookup(r.mmap, "mmap");
    Lookup(r.mmap64, "mmap64");
    Lookup(r.munmap, "munmap");
    Lookup(r.mremap, "mremap");
    __atomic_store_n(&leaktrace_real_vfork, dlsym(RTLD_NEXT, "vfork"), __ATOMIC_RELEASE);
    __atomic_store_n(&leaktrace_real_clone, dlsym(RTLD_NEXT, "clone"), __ATOMIC_RELEASE);
  }
  real_io = r;
  t_resolving = false;
  g_real_io_state.store(2, std::memory_order_release);
}

}  // namespace leaktrace::preload
