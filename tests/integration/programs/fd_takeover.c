/* A program that does with its descriptors what daemons and shells do, and
   checks that every one of them is still what it made (transparency_test.cc).
   Exit 0: all good; 1: a descriptor of the program was read, written,
   closed or replaced by someone else (the reason on stderr).

     fd_takeover server closefrom|loop|close_range|listed
         unwinds (allocates under sampling), closes every descriptor from 3 on
         in the named way (listed: each number /proc/self/fd lists, every
         close checked), then listens on 127.0.0.1 (fd 3), writes a file
         through fd 4, unwinds again and checks that fd 3 still accepts a
         connection and that the file holds what was written.
     fd_takeover dup2
         dup2s one file onto every number from 3 up to the soft limit minus
         one (over any descriptor of leaktrace's), unwinds, checks that every
         number still refers to the file, then closes them all.
     fd_takeover sleep
         closes every descriptor from 3 on, prints "sleeping", and sleeps 2 s
         in one nanosleep; the test takes a snapshot meanwhile. Exit 1 if the
         sleep was cut short.
     fd_takeover vfork server closefrom | vfork sleep
         first unwinds, then vforks a child that dup2s a file onto every
         number from 3 up to the soft limit minus one (over leaktrace's
         descriptors in the child's own table, which are not the parent's)
         and exits; then does the rest in the parent. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fail(const char* what) {
  fprintf(stderr, "fd_takeover: %s (errno %d: %s)\n", what, errno, strerror(errno));
  exit(1);
}

/* Allocations large enough to be sampled at any interval the tests use,
   each from a call chain the unwinder has not seen before (a recursion one
   level deeper every time), so each one is a full unwind by libunwind. */
static int depth_seen;

__attribute__((noinline)) static void allocate_at_depth(int depth) {
  if (depth > 0) {
    allocate_at_depth(depth - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return;
  }
  void* volatile p = malloc(256 * 1024);
  if (p == NULL) fail("malloc");
  free(p);
}

__attribute__((noinline)) static void unwind_some(int rounds) {
  for (int i = 0; i < rounds; ++i) allocate_at_depth(++depth_seen);
}

static long open_max(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY || r.rlim_cur > 65536) return 65536;
  return (long)r.rlim_cur;
}

static void close_all_from_3(const char* how) {
  if (strcmp(how, "closefrom") == 0) {
    closefrom(3);
  } else if (strcmp(how, "loop") == 0) {
    const long max = open_max();
    for (long fd = 3; fd < max; ++fd) close((int)fd);
  } else if (strcmp(how, "close_range") == 0) {
    if (close_range(3, ~0u, 0) != 0) fail("close_range");
  } else if (strcmp(how, "listed") == 0) {
    /* As chromium's crash handler and many daemons do: every number the
       directory lists, but the directory's own, each close checked. */
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) fail("opendir /proc/self/fd");
    struct dirent* e;
    while ((e = readdir(dir)) != NULL) {
      if (e->d_name[0] == '.') continue;
      const int fd = atoi(e->d_name);
      if (fd < 3 || fd == dirfd(dir)) continue;
      if (close(fd) != 0) {
        fprintf(stderr, "fd_takeover: close(%d), listed in /proc/self/fd (errno %d: %s)\n", fd, errno,
                strerror(errno));
        exit(1);
      }
    }
    closedir(dir);
  } else {
    fprintf(stderr, "fd_takeover: unknown way to close: %s\n", how);
    exit(2);
  }
}

static int server(const char* how) {
  unwind_some(20);
  close_all_from_3(how);

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener != 3) fail("the listening socket is not fd 3");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 8) != 0) fail("bind/listen");
  if (getsockname(listener, (struct sockaddr*)&addr, &len) != 0) fail("getsockname");

  char path[] = "/tmp/fd_takeover.XXXXXX";
  const int file = mkstemp(path);
  if (file != 4) fail("the file is not fd 4");
  unlink(path);
  static const char kLine[] = "every byte written through fd 4 must land in the file\n";
  for (int i = 0; i < 50; ++i) {
    if (write(file, kLine, sizeof kLine - 1) != (ssize_t)(sizeof kLine - 1)) fail("write fd 4");
    unwind_some(2);
  }

  struct stat st;
  if (fstat(listener, &st) != 0 || !S_ISSOCK(st.st_mode)) fail("fd 3 is no longer a socket");
  int accepting = 0;
  len = sizeof accepting;
  if (getsockopt(listener, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
    fail("fd 3 is no longer listening");
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  if (client < 0 || connect(client, (struct sockaddr*)&addr, sizeof addr) != 0) fail("connect");
  const int conn = accept(listener, NULL, NULL);
  if (conn < 0) fail("accept on fd 3");

  if (fstat(file, &st) != 0 || !S_ISREG(st.st_mode)) fail("fd 4 is no longer the file");
  if (st.st_size != 50 * (off_t)(sizeof kLine - 1)) fail("the file written through fd 4 lost bytes");
  char buf[sizeof kLine];
  if (pread(file, buf, sizeof kLine - 1, 49 * (off_t)(sizeof kLine - 1)) != (ssize_t)(sizeof kLine - 1) ||
      memcmp(buf, kLine, sizeof kLine - 1) != 0)
    fail("the file written through fd 4 holds other bytes");
  printf("ok\n");
  return 0;
}

static int dup2_everywhere(void) {
  unwind_some(20);
  const int file = open("/etc/passwd", O_RDONLY);
  if (file < 0) fail("open");
  struct stat want;
  if (fstat(file, &want) != 0) fail("fstat");
  const long max = open_max() > 4096 ? 4096 : open_max();
  for (long fd = 3; fd < max; ++fd)
    if (fd != file && dup2(file, (int)fd) != (int)fd) fail("dup2");
  unwind_some(20);
  for (long fd = 3; fd < max; ++fd) {
    struct stat st;
    if (fstat((int)fd, &st) != 0 || st.st_ino != want.st_ino || st.st_dev != want.st_dev) {
      fprintf(stderr, "fd_takeover: fd %ld no longer refers to the file\n", fd);
      return 1;
    }
  }
  /* Every copy shares one file offset: a read by anyone else moves it. */
  if (lseek(file, 0, SEEK_CUR) != 0) {
    fprintf(stderr, "fd_takeover: someone read from the program's file\n");
    return 1;
  }
  for (long fd = 3; fd < max; ++fd) close((int)fd);
  unwind_some(20);
  printf("ok\n");
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sleep_through_snapshot(void) {
  unwind_some(20);
  closefrom(3);
  printf("sleeping\n");
  fflush(stdout);
  const double start = now_s();
  struct timespec want = {.tv_sec = 2, .tv_nsec = 0};
  if (nanosleep(&want, NULL) != 0) fail("nanosleep was interrupted");
  const double slept = now_s() - start;
  if (slept < 1.99) {
    fprintf(stderr, "fd_takeover: slept %.3f s of 2\n", slept);
    return 1;
  }
  unwind_some(5);
  printf("ok\n");
  return 0;
}

/* A vfork child shares the parent's memory, not its descriptor table: what
   it dup2s onto replaces only its own copies. */
static void vfork_child_dup2_everywhere(void) {
  unwind_some(20);
  const int file = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
  if (file < 0) fail("open");
  const long max = open_max() > 4096 ? 4096 : open_max();
  const pid_t child = vfork();
  if (child < 0) fail("vfork");
  if (child == 0) {
    for (long fd = 3; fd < max; ++fd)
      if (fd != file && dup2(file, (int)fd) != (int)fd) _exit(3);
    _exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("the vfork child");
  close(file);
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "vfork") == 0) {
    vfork_child_dup2_everywhere();
    ++argv;
    --argc;
  }
  if (argc >= 3 && strcmp(argv[1], "server") == 0) return server(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "dup2") == 0) return dup2_everywhere();
  if (argc >= 2 && strcmp(argv[1], "sleep") == 0) return sleep_through_snapshot();
  fprintf(stderr, "usage: fd_takeover [vfork] server closefrom|loop|close_range|listed | dup2 | sleep\n");
  return 2;
}
