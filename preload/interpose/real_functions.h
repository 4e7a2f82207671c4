// The functions that do the real work behind every hook: the next definitions
// after libleaktrace.so in symbol order (glibc, or jemalloc/tcmalloc/mimalloc
// for the allocator when the program uses one). One table, `real`, found one
// way: EnsureReal() looks every entry up with dlsym(RTLD_NEXT) (RTLD_DEFAULT
// when attached, g_real_scope below) the first time any hook needs one, then
// `real.name(...)`.
//
// Two lookups stay outside the table, each for a reason stated where it is
// made: dlsym itself (native_api.cc: our own dlsym is the entry, so it is
// found by version with dlvsym), and the allocator's own API (mallocx, tc_*:
// native_api.cc, which must also check the definition is the allocator's).
#pragma once

#include <dirent.h>
#include <pthread.h>
#include <poll.h>
#include <pty.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <type_traits>

#include "preload/internal/compiler.h"

// X(member, symbol, type): every function leaktrace calls through. The
// allocator comes first: the malloc hooks' fast paths read its members
// without EnsureReal() (see `real` below).
#define LEAKTRACE_REAL_FUNCTIONS(X)                                                 \
  /* the allocator */                                                               \
  X(malloc, "malloc", void* (*)(size_t))                                            \
  X(free, "free", void (*)(void*))                                                  \
  X(calloc, "calloc", void* (*)(size_t, size_t))                                    \
  X(realloc, "realloc", void* (*)(void*, size_t))                                   \
  X(memalign, "memalign", void* (*)(size_t, size_t))                                \
  X(aligned_alloc, "aligned_alloc", void* (*)(size_t, size_t))                      \
  X(malloc_usable_size, "malloc_usable_size", size_t (*)(void*))                    \
  /* descriptors */                                                                 \
  X(open, "open", int (*)(const char*, int, ...))                                   \
  X(open64, "open64", int (*)(const char*, int, ...))                               \
  X(openat, "openat", int (*)(int, const char*, int, ...))                          \
  X(openat64, "openat64", int (*)(int, const char*, int, ...))                      \
  X(open_2, "__open_2", int (*)(const char*, int)) /* _FORTIFY_SOURCE */            \
  X(open64_2, "__open64_2", int (*)(const char*, int))                              \
  X(openat_2, "__openat_2", int (*)(int, const char*, int))                         \
  X(openat64_2, "__openat64_2", int (*)(int, const char*, int))                     \
  X(creat, "creat", int (*)(const char*, mode_t))                                   \
  X(creat64, "creat64", int (*)(const char*, mode_t))                               \
  X(close, "close", int (*)(int))                                                   \
  X(close_range, "close_range", int (*)(unsigned, unsigned, int))                   \
  X(closefrom, "closefrom", void (*)(int))                                          \
  X(socket, "socket", int (*)(int, int, int))                                       \
  X(socketpair, "socketpair", int (*)(int, int, int, int*))                         \
  X(accept, "accept", int (*)(int, sockaddr*, socklen_t*))                          \
  X(accept4, "accept4", int (*)(int, sockaddr*, socklen_t*, int))                   \
  X(pipe, "pipe", int (*)(int*))                                                    \
  X(pipe2, "pipe2", int (*)(int*, int))                                             \
  X(dup, "dup", int (*)(int))                                                       \
  X(dup2, "dup2", int (*)(int, int))                                                \
  X(dup3, "dup3", int (*)(int, int, int))                                           \
  X(fcntl, "fcntl", int (*)(int, int, ...))                                         \
  X(fcntl64, "fcntl64", int (*)(int, int, ...))                                     \
  X(epoll_create, "epoll_create", int (*)(int))                                     \
  X(epoll_create1, "epoll_create1", int (*)(int))                                   \
  X(eventfd, "eventfd", int (*)(unsigned, int))                                     \
  X(timerfd_create, "timerfd_create", int (*)(int, int))                            \
  X(signalfd, "signalfd", int (*)(int, const sigset_t*, int))                       \
  X(inotify_init, "inotify_init", int (*)())                                        \
  X(inotify_init1, "inotify_init1", int (*)(int))                                   \
  X(memfd_create, "memfd_create", int (*)(const char*, unsigned))                   \
  X(posix_openpt, "posix_openpt", int (*)(int))                                     \
  X(openpty, "openpty", int (*)(int*, int*, char*, const struct termios*, const struct winsize*)) \
  X(forkpty, "forkpty", pid_t (*)(int*, char*, const struct termios*, const struct winsize*)) \
  X(fork, "fork", pid_t (*)())                                                      \
  X(shm_open, "shm_open", int (*)(const char*, int, mode_t))                        \
  X(mkstemp, "mkstemp", int (*)(char*))                                             \
  X(mkostemp, "mkostemp", int (*)(char*, int))                                      \
  X(mkstemps, "mkstemps", int (*)(char*, int))                                      \
  X(mkostemps, "mkostemps", int (*)(char*, int, int))                               \
  X(recvmsg, "recvmsg", ssize_t (*)(int, msghdr*, int))                             \
  /* stdio and directories */                                                       \
  X(fopen, "fopen", FILE* (*)(const char*, const char*))                            \
  X(fopen64, "fopen64", FILE* (*)(const char*, const char*))                        \
  X(fdopen, "fdopen", FILE* (*)(int, const char*))                                  \
  X(freopen, "freopen", FILE* (*)(const char*, const char*, FILE*))                 \
  X(freopen64, "freopen64", FILE* (*)(const char*, const char*, FILE*))             \
  X(fclose, "fclose", int (*)(FILE*))                                               \
  X(popen, "popen", FILE* (*)(const char*, const char*))                            \
  X(pclose, "pclose", int (*)(FILE*))                                               \
  X(tmpfile, "tmpfile", FILE* (*)())                                                \
  X(opendir, "opendir", DIR* (*)(const char*))                                      \
  X(fdopendir, "fdopendir", DIR* (*)(int))                                          \
  X(closedir, "closedir", int (*)(DIR*))                                            \
  /* mappings */                                                                    \
  X(mmap, "mmap", void* (*)(void*, size_t, int, int, int, off_t))                   \
  X(mmap64, "mmap64", void* (*)(void*, size_t, int, int, int, off_t))               \
  X(munmap, "munmap", int (*)(void*, size_t))                                       \
  X(mremap, "mremap", void* (*)(void*, size_t, size_t, int, ...))                   \
  /* signals */                                                                     \
  X(sigaction, "sigaction", int (*)(int, const struct sigaction*, struct sigaction*)) \
  X(signal, "signal", sighandler_t (*)(int, sighandler_t))                          \
  X(sigprocmask, "sigprocmask", int (*)(int, const sigset_t*, sigset_t*))           \
  X(pthread_sigmask, "pthread_sigmask", int (*)(int, const sigset_t*, sigset_t*))   \
  X(sigwait, "sigwait", int (*)(const sigset_t*, int*))                             \
  X(sigwaitinfo, "sigwaitinfo", int (*)(const sigset_t*, siginfo_t*))               \
  X(sigtimedwait, "sigtimedwait", int (*)(const sigset_t*, siginfo_t*, const struct timespec*)) \
  /* waits a signal handler would cut short (hooks_wait.cc) */                      \
  X(nanosleep, "nanosleep", int (*)(const struct timespec*, struct timespec*))     \
  X(clock_nanosleep, "clock_nanosleep", int (*)(clockid_t, int, const struct timespec*, struct timespec*)) \
  X(sleep, "sleep", unsigned (*)(unsigned))                                        \
  X(usleep, "usleep", int (*)(useconds_t))                                         \
  X(pause, "pause", int (*)())                                                     \
  X(sigsuspend, "sigsuspend", int (*)(const sigset_t*))                            \
  X(poll, "poll", int (*)(struct pollfd*, nfds_t, int))                            \
  X(poll_chk, "__poll_chk", int (*)(struct pollfd*, nfds_t, int, size_t)) /* _FORTIFY_SOURCE */ \
  X(ppoll, "ppoll", int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*)) \
  X(ppoll_chk, "__ppoll_chk", int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*, size_t)) \
  X(select, "select", int (*)(int, fd_set*, fd_set*, fd_set*, struct timeval*))    \
  X(pselect, "pselect", int (*)(int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*)) \
  X(epoll_wait, "epoll_wait", int (*)(int, struct epoll_event*, int, int))         \
  X(epoll_pwait, "epoll_pwait", int (*)(int, struct epoll_event*, int, int, const sigset_t*)) \
  X(epoll_pwait2, "epoll_pwait2", int (*)(int, struct epoll_event*, int, const struct timespec*, const sigset_t*)) \
  X(sem_wait, "sem_wait", int (*)(sem_t*))                                         \
  X(sem_trywait, "sem_trywait", int (*)(sem_t*))                                   \
  X(sem_timedwait, "sem_timedwait", int (*)(sem_t*, const struct timespec*))       \
  X(sem_clockwait, "sem_clockwait", int (*)(sem_t*, clockid_t, const struct timespec*)) \
  X(semop, "semop", int (*)(int, struct sembuf*, size_t))                           \
  X(semtimedop, "semtimedop", int (*)(int, struct sembuf*, size_t, const struct timespec*)) \
  X(msgrcv, "msgrcv", ssize_t (*)(int, void*, size_t, long, int))                  \
  X(msgsnd, "msgsnd", int (*)(int, const void*, size_t, int))                      \
  X(recvmmsg, "recvmmsg", int (*)(int, struct mmsghdr*, unsigned, int, struct timespec*)) \
  X(setsockopt, "setsockopt", int (*)(int, int, int, const void*, socklen_t))      \
  /* privileges and namespaces */                                                   \
  X(setuid, "setuid", int (*)(uid_t))                                               \
  X(setgid, "setgid", int (*)(gid_t))                                               \
  X(seteuid, "seteuid", int (*)(uid_t))                                             \
  X(setegid, "setegid", int (*)(gid_t))                                             \
  X(setreuid, "setreuid", int (*)(uid_t, uid_t))                                    \
  X(setregid, "setregid", int (*)(gid_t, gid_t))                                    \
  X(setresuid, "setresuid", int (*)(uid_t, uid_t, uid_t))                           \
  X(setresgid, "setresgid", int (*)(gid_t, gid_t, gid_t))                           \
  X(setgroups, "setgroups", int (*)(size_t, const gid_t*))                          \
  X(initgroups, "initgroups", int (*)(const char*, gid_t))                          \
  /* the working directory and root */                                             \
  X(chdir, "chdir", int (*)(const char*))                                           \
  X(fchdir, "fchdir", int (*)(int))                                                 \
  X(chroot, "chroot", int (*)(const char*))                                         \
  X(unshare, "unshare", int (*)(int))                                               \
  X(setns, "setns", int (*)(int, int))                                              \
  X(prctl, "prctl", int (*)(int, ...))                                              \
  X(setrlimit, "setrlimit", int (*)(__rlimit_resource_t, const struct rlimit*))     \
  X(prlimit, "prlimit", int (*)(pid_t, enum __rlimit_resource, const struct rlimit*, struct rlimit*)) \
  /* threads */                                                                     \
  X(pthread_create, "pthread_create", int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)) \
  X(pthread_join, "pthread_join", int (*)(pthread_t, void**))                       \
  X(pthread_tryjoin_np, "pthread_tryjoin_np", int (*)(pthread_t, void**))           \
  X(pthread_timedjoin_np, "pthread_timedjoin_np", int (*)(pthread_t, void**, const struct timespec*)) \
  X(pthread_clockjoin_np, "pthread_clockjoin_np", int (*)(pthread_t, void**, clockid_t, const struct timespec*)) \
  X(pthread_detach, "pthread_detach", int (*)(pthread_t))                           \
  X(pthread_getattr_np, "pthread_getattr_np", int (*)(pthread_t, pthread_attr_t*))  \
  /* the loader (dlopen_entry.S reads leaktrace_real_dlopen, a copy) */             \
  X(dlopen, "dlopen", void* (*)(const char*, int))                                  \
  X(dlclose, "dlclose", int (*)(void*))

namespace leaktrace::preload {

struct RealFunctions {
#define LEAKTRACE_REAL_MEMBER(member, symbol, ...) std::type_identity_t<__VA_ARGS__> member;
  LEAKTRACE_REAL_FUNCTIONS(LEAKTRACE_REAL_MEMBER)
#undef LEAKTRACE_REAL_MEMBER
};

// Filled by EnsureReal(); read-only afterwards. A function missing below us
// stays nullptr: its hook then fails with ENOSYS (as the missing function
// would have failed to link), or falls back to the raw system call where
// there is one. The allocator's members are known to be filled once the
// tracker has left Mode::kUninitialized (internal/mode.h), so the malloc hooks read
// them without asking.
extern LT_HIDDEN RealFunctions real;

// Where the lookups look: RTLD_NEXT, the next definitions after
// libleaktrace.so. A library that `leaktrace attach` dlopened into a running
// process (interpose/attach.cc) comes after libc and is not in the global
// scope: it sets RTLD_DEFAULT, what the program's modules are bound to,
// before the first lookup (nothing in such a library looks up anything
// before leaktrace_attach: its constructor returns at once and no module is
// bound to its hooks yet). Not changed afterwards.
extern LT_HIDDEN void* g_real_scope;

namespace detail {
extern LT_HIDDEN std::atomic<int> g_real_state;
void ResolveRealSlow();
}  // namespace detail

// Makes sure `real` is filled in. Any thread, any time; the first caller(s)
// look the table up (threads that arrive together each do, storing the same
// values: no waiting, so no deadlock with a thread that holds the loader's
// lock while we sit in dlsym). While this very thread is resolving (dlsym
// re-entering a hook), returns at once with `real` possibly still empty.
// The lookups may allocate: they run with the thread busy, so those
// allocations go through untracked (or to the bootstrap heap).
inline void EnsureReal() {
  if (__builtin_expect(detail::g_real_state.load(std::memory_order_acquire) == 2, 1)) return;
  detail::ResolveRealSlow();
}

// True when every allocator member of `real` is filled in.
bool RealAllocatorFound();

// Whether real.malloc_usable_size measures the real allocator's blocks: it
// is defined in the module that defines real.malloc, or, another module's
// (glibc's, behind a pass-through counter), it measures two probe blocks a
// little above their sizes. An allocator without one of its own (Electric
// Fence, DUMA, glibc's libmemusage) gets glibc's, which on its blocks reads
// garbage: leaktrace then measures nothing by it (sizes it was asked for
// stand in). After EnsureReal; any thread not inside the allocator; the
// first call makes and frees two blocks.
bool RealUsableSizeIsTheAllocators();

}  // namespace leaktrace::preload
