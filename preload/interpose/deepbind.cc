#include "preload/interpose/deepbind.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>

#include "preload/internal/fork_gate.h"
#include "preload/interpose/got_rewrite.h"
#include "preload/internal/log.h"
#include "preload/interpose/native_api.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"
#include "preload/internal/libc_functions.h"
#include "preload/interpose/quiet_dlsym.h"

extern "C" {
__attribute__((visibility("hidden"))) void* (*leaktrace_real_dlopen)(const char*, int) = nullptr;
}

namespace leaktrace::preload {
namespace {

// Every function libleaktrace.so hooks (exports.map), except dlopen itself.
constexpr const char* kHooked[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "aligned_alloc", "posix_memalign",
    "valloc", "pvalloc", "malloc_usable_size", "open", "open64", "openat", "openat64", "__open_2", "__open64_2",
    "__openat_2", "__openat64_2", "creat", "creat64", "close", "close_range", "closefrom", "socket", "socketpair",
    "accept", "accept4", "recvmsg", "pipe", "pipe2", "dup", "dup2", "dup3", "fcntl", "fcntl64", "epoll_create",
    "epoll_create1", "eventfd", "timerfd_create", "signalfd", "inotify_init", "inotify_init1", "memfd_create",
    "posix_openpt", "openpty", "forkpty", "shm_open", "mkstemp", "mkostemp", "mkstemps", "mkostemps", "tmpfile", "fopen", "fopen64", "fdopen", "freopen", "freopen64", "fclose", "popen", "pclose", "opendir",
    "fdopendir", "closedir", "chdir", "fchdir", "chroot", "mmap", "mmap64", "munmap", "mremap", "dlclose", "sigaction", "signal", "sigwait", "sigwaitinfo", "sigtimedwait", "sigprocmask", "pthread_sigmask",
    "nanosleep", "clock_nanosleep", "sleep", "usleep", "pause", "sigsuspend", "poll", "__poll_chk", "ppoll",
    "__ppoll_chk", "select", "pselect", "epoll_wait", "epoll_pwait", "epoll_pwait2", "sem_wait", "sem_timedwait",
    "sem_clockwait", "semop", "semtimedop", "msgrcv", "msgsnd", "recvmmsg", "setsockopt",
    "setuid", "setgid", "seteuid", "setegid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "initgroups", "unshare", "setns", "setrlimit", "setrlimit64", "prlimit", "prlimit64",
    "pthread_create", "pthread_join", "pthread_tryjoin_np", "pthread_timedjoin_np", "pthread_clockjoin_np", "pthread_detach",
    "pthread_getattr_np",
    "fork", "vfork", "clone",
};

}  // namespace

bool IsHooked(const char* name) {
  for (const char* h : kHooked)
    if (strcmp(h, name) == 0) return true;
  return false;
}

namespace {

// libleaktrace.so itself, libc, the loader and the real allocator keep their
// bindings: rewriting theirs would loop or double count.
bool MustNotPatch(const link_map* lm, const void* allocator_base) {
  const char* name = lm->l_name ? lm->l_name : "";
  if (name[0] == '\0') return true;  // the main program: bound globally already
  const char* base = strrchr(name, '/');
  base = base ? base + 1 : name;
  if (strncmp(base, "libleaktrace", 12) == 0 || strncmp(base, "libc.so", 7) == 0 ||
      strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "libunwind", 9) == 0)
    return true;
  Dl_info info;
  return allocator_base != nullptr && LibcDladdr(reinterpret_cast<void*>(lm->l_addr + 1), &info) != 0 &&
         info.dli_fbase == allocator_base;
}

struct FindModule {
  uintptr_t base;
  LoadedModule module;
  bool found = false;
};

int FindByBase(dl_phdr_info* info, size_t, void* data) {
  auto* want = static_cast<FindModule*>(data);
  if (info->dlpi_addr != want->base) return 0;
  want->found = DescribeModule(*info, want->module);
  return 1;
}

// A deep-bound library's imports of hooked functions go where the global
// lookup would have bound them: to leaktrace's hooks.
void* GlobalHook(const ImportSlot& slot, void*) {
  if (slot.data || !IsHooked(slot.name)) return nullptr;
  return QuietDlsym(RTLD_DEFAULT, slot.name);
}

// Points `lm`'s imports of hooked functions at leaktrace's hooks. Returns
// how many slots were rewritten.
int Rebind(const link_map* lm) {
  ForkGateScope gate;  // dl_iterate_phdr: the loader's lock must not be held across fork
  FindModule find{lm->l_addr, {}};
  LibcDlIteratePhdr(FindByBase, &find);
  if (!find.found) return 0;
  return RewriteImports(find.module, GlobalHook, nullptr);
}

void RebindDeepBound(void* handle) {
  link_map* lm = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == nullptr) return;
  Dl_info allocator;
  const void* allocator_base = LibcDladdr(reinterpret_cast<void*>(real.malloc), &allocator) ? allocator.dli_fbase : nullptr;
  // The library and everything after it in load order: its dependencies came
  // with it (the rest, loaded globally, already bind to leaktrace).
  for (const link_map* m = lm; m != nullptr; m = m->l_next)
    if (!MustNotPatch(m, allocator_base)) Rebind(m);
}

}  // namespace

void ResolveRealDlopen() {
  if (leaktrace_real_dlopen != nullptr) return;
  EnsureReal();
  leaktrace_real_dlopen = real.dlopen;
}

}  // namespace leaktrace::preload

using namespace leaktrace::preload;

extern "C" __attribute__((visibility("hidden"))) void* leaktrace_dlopen_deepbind(const char* file, int mode) {
  if (leaktrace_real_dlopen == nullptr) {
    BusyScope busy;
    ResolveRealDlopen();
    if (leaktrace_real_dlopen == nullptr) return nullptr;
  }
  void* handle = leaktrace_real_dlopen(file, mode);
  if (handle == nullptr || t_state.busy != 0) return handle;
  if (!(mode & RTLD_DEEPBIND) && !leaktrace_native_active) return handle;
  EnsureInitialized();
  if (g_mode == Mode::kSampled || g_mode == Mode::kExact) {
    BusyScope busy;
    if (mode & RTLD_DEEPBIND) RebindDeepBound(handle);
    NativeApiAfterLoad();
  }
  return handle;
}

// Called by dlopen_entry.S while an allocator's own API is wrapped: non-zero
// when leaktrace may make this dlopen itself. Only for a path: glibc uses the
// caller for the search of a bare name (its RUNPATH) and for "$ORIGIN".
extern "C" __attribute__((visibility("hidden"))) int leaktrace_dlopen_by_path(const char* file, int) {
  return file != nullptr && strchr(file, '/') != nullptr && strchr(file, '$') == nullptr;
}
