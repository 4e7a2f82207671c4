// The descriptor, stdio and mapping functions that do the real work: the next
// definitions after libleaktrace.so in symbol order (normally glibc's).
// Resolved once, lazily, by the first hook that needs one (any thread), with
// dlsym(RTLD_NEXT).
#pragma once

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

struct RealIo {
  // descriptors
  int (*open)(const char*, int, ...);
  int (*open64)(const char*, int, ...);
  int (*openat)(int, const char*, int, ...);
  int (*openat64)(int, const char*, int, ...);
  int (*open_2)(const char*, int);  // _FORTIFY_SOURCE: __open_2 and friends
  int (*open64_2)(const char*, int);
  int (*openat_2)(int, const char*, int);
  int (*openat64_2)(int, const char*, int);
  int (*creat)(const char*, mode_t);
  int (*creat64)(const char*, mode_t);
  int (*close)(int);
  int (*close_range)(unsigned, unsigned, int);
  void (*closefrom)(int);
  int (*socket)(int, int, int);
  int (*socketpair)(int, int, int, int*);
  int (*accept)(int, sockaddr*, socklen_t*);
  int (*accept4)(int, sockaddr*, socklen_t*, int);
  int (*pipe)(int*);
  int (*pipe2)(int*, int);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*fcntl)(int, int, ...);
  int (*fcntl64)(int, int, ...);
  int (*epoll_create)(int);
  int (*epoll_create1)(int);
  int (*eventfd)(unsigned, int);
  int (*timerfd_create)(int, int);
  int (*signalfd)(int, const sigset_t*, int);
  int (*inotify_init)();
  int (*inotify_init1)(int);
  int (*memfd_create)(const char*, unsigned);
  int (*posix_openpt)(int);
  int (*shm_open)(const char*, int, mode_t);
  int (*mkstemp)(char*);
  int (*mkostemp)(char*, int);
  int (*mkstemps)(char*, int);
  int (*mkostemps)(char*, int, int);
  ssize_t (*recvmsg)(int, msghdr*, int);
  // stdio and directories
  FILE* (*fopen)(const char*, const char*);
  FILE* (*fopen64)(const char*, const char*);
  FILE* (*fdopen)(int, const char*);
  FILE* (*freopen)(const char*, const char*, FILE*);
  FILE* (*freopen64)(const char*, const char*, FILE*);
  int (*fclose)(FILE*);
  FILE* (*popen)(const char*, const char*);
  int (*pclose)(FILE*);
  FILE* (*tmpfile)();
  DIR* (*opendir)(const char*);
  DIR* (*fdopendir)(int);
  int (*closedir)(DIR*);
  // mappings
  void* (*mmap)(void*, size_t, int, int, int, off_t);
  void* (*mmap64)(void*, size_t, int, int, int, off_t);
  int (*munmap)(void*, size_t);
  void* (*mremap)(void*, size_t, size_t, int, ...);
};

// Filled by ResolveRealIo(); read-only afterwards. A function missing from the
// C library stays nullptr (its hook then fails with ENOSYS, as the missing
// function would have failed to link).
extern RealIo real_io;

namespace detail {
extern std::atomic<int> g_real_io_state;
void ResolveRealIoSlow();
}  // namespace detail

// Makes sure real_io is filled in. While this very thread is resolving
// (dlsym re-entering a hook), returns at once: the hooks then fall back to
// raw system calls where there is one.
inline void EnsureRealIo() {
  if (__builtin_expect(detail::g_real_io_state.load(std::memory_order_acquire) == 2, 1)) return;
  detail::ResolveRealIoSlow();
}

}  // namespace leaktrace::preload
