/* The exact descriptor and mapping test. Between checkpoints "before" and
   "after" it leaks a known number of each kind of descriptor and mapping,
   each from its own function, while balanced churn (open/close,
   socket/close, fopen/fclose, opendir/closedir, pipe, mmap/munmap, mremap)
   runs on this thread and on another. fd_mmap_test.cc reads the numbers
   back from `leaktrace diff`; keep the constants in step. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "step_protocol.h"

#define FILE_PATH "/etc/passwd"
#define LEAK_OPEN 3
#define LEAK_OPENAT 4
#define LEAK_CREAT 2
#define LEAK_SOCKET_INET 5
#define LEAK_SOCKET_UNIX 3
#define LEAK_SOCKETPAIR 2 /* descriptors: twice that */
#define LEAK_ACCEPT 3
#define LEAK_ACCEPT4 2
#define LEAK_PIPE 2 /* descriptors: twice that */
#define LEAK_PIPE2 3
#define LEAK_DUP 4
#define LEAK_FCNTL_DUPFD 3
#define LEAK_FOPEN 6
#define LEAK_FDOPEN 2
#define LEAK_OPENDIR 4
#define LEAK_EPOLL 2
#define LEAK_EVENTFD 3
#define LEAK_TIMERFD 2
#define LEAK_SIGNALFD 1
#define LEAK_INOTIFY 2
#define LEAK_MEMFD 3
#define LEAK_PTY 1
#define LEAK_SHM_OPEN 2
#define LEAK_MKSTEMP 3
#define LEAK_TMPFILE 2
#define LEAK_MMAP_ANON 5
#define MMAP_ANON_PAGES 3
#define LEAK_MMAP_FILE 2
#define LEAK_MREMAP 3
#define MREMAP_FROM_PAGES 1
#define MREMAP_TO_PAGES 5
#define CHURN 300

static long page;
static int listener = -1;
static struct sockaddr_in listen_addr;
static char scratch_dir[] = "/tmp/leaky_fds.XXXXXX";

static void must(int ok, const char* what) {
  if (!ok) {
    perror(what);
    exit(2);
  }
}

__attribute__((noinline)) void leak_open(void) {
  for (int i = 0; i < LEAK_OPEN; ++i) must(open(FILE_PATH, O_RDONLY) >= 0, "open");
}
__attribute__((noinline)) void leak_openat(void) {
  for (int i = 0; i < LEAK_OPENAT; ++i) must(openat(AT_FDCWD, FILE_PATH, O_RDONLY | O_CLOEXEC) >= 0, "openat");
}
__attribute__((noinline)) void leak_creat(void) {
  char path[256];
  for (int i = 0; i < LEAK_CREAT; ++i) {
    snprintf(path, sizeof path, "%s/created.%d", scratch_dir, i);
    must(creat(path, 0600) >= 0, "creat");
  }
}
__attribute__((noinline)) void leak_socket_inet(void) {
  for (int i = 0; i < LEAK_SOCKET_INET; ++i) must(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0, "socket");
}
__attribute__((noinline)) void leak_socket_unix(void) {
  for (int i = 0; i < LEAK_SOCKET_UNIX; ++i) must(socket(AF_UNIX, SOCK_DGRAM, 0) >= 0, "socket");
}
__attribute__((noinline)) void leak_socketpair(void) {
  int sv[2];
  for (int i = 0; i < LEAK_SOCKETPAIR; ++i) must(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
}

/* A client connection to the listener, closed by the caller. */
static int connect_client(void) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  must(c >= 0, "socket");
  must(connect(c, (struct sockaddr*)&listen_addr, sizeof listen_addr) == 0, "connect");
  return c;
}
__attribute__((noinline)) void leak_accept(void) {
  for (int i = 0; i < LEAK_ACCEPT; ++i) {
    int c = connect_client();
    must(accept(listener, NULL, NULL) >= 0, "accept");
    close(c);
  }
}
__attribute__((noinline)) void leak_accept4(void) {
  for (int i = 0; i < LEAK_ACCEPT4; ++i) {
    int c = connect_client();
    must(accept4(listener, NULL, NULL, SOCK_CLOEXEC) >= 0, "accept4");
    close(c);
  }
}
__attribute__((noinline)) void leak_pipe(void) {
  int p[2];
  for (int i = 0; i < LEAK_PIPE; ++i) must(pipe(p) == 0, "pipe");
}
__attribute__((noinline)) void leak_pipe2(void) {
  int p[2];
  for (int i = 0; i < LEAK_PIPE2; ++i) {
    must(pipe2(p, O_CLOEXEC) == 0, "pipe2");
    close(p[0]); /* only the write ends leak */
  }
}
__attribute__((noinline)) void leak_dup(int source) {
  for (int i = 0; i < LEAK_DUP; ++i) must(dup(source) >= 0, "dup");
}
__attribute__((noinline)) void leak_fcntl_dupfd(int source) {
  for (int i = 0; i < LEAK_FCNTL_DUPFD; ++i) must(fcntl(source, F_DUPFD_CLOEXEC, 100) >= 100, "fcntl");
}
__attribute__((noinline)) void leak_fopen(void) {
  for (int i = 0; i < LEAK_FOPEN; ++i) must(fopen(FILE_PATH, "r") != NULL, "fopen");
}
__attribute__((noinline)) void leak_fdopen(void) {
  for (int i = 0; i < LEAK_FDOPEN; ++i) must(fdopen(open(FILE_PATH, O_RDONLY), "r") != NULL, "fdopen");
}
__attribute__((noinline)) void leak_opendir(void) {
  for (int i = 0; i < LEAK_OPENDIR; ++i) must(opendir("/etc") != NULL, "opendir");
}
__attribute__((noinline)) void leak_epoll(void) {
  must(epoll_create(1) >= 0, "epoll_create");
  for (int i = 1; i < LEAK_EPOLL; ++i) must(epoll_create1(EPOLL_CLOEXEC) >= 0, "epoll_create1");
}
__attribute__((noinline)) void leak_eventfd(void) {
  for (int i = 0; i < LEAK_EVENTFD; ++i) must(eventfd(0, 0) >= 0, "eventfd");
}
__attribute__((noinline)) void leak_timerfd(void) {
  for (int i = 0; i < LEAK_TIMERFD; ++i) must(timerfd_create(CLOCK_MONOTONIC, 0) >= 0, "timerfd_create");
}
__attribute__((noinline)) void leak_signalfd(void) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  for (int i = 0; i < LEAK_SIGNALFD; ++i) {
    int fd = signalfd(-1, &mask, 0);
    must(fd >= 0, "signalfd");
    must(signalfd(fd, &mask, 0) == fd, "signalfd update"); /* changes the mask: no new descriptor */
  }
}
__attribute__((noinline)) void leak_inotify(void) {
  must(inotify_init() >= 0, "inotify_init");
  for (int i = 1; i < LEAK_INOTIFY; ++i) must(inotify_init1(IN_CLOEXEC) >= 0, "inotify_init1");
}
__attribute__((noinline)) void leak_memfd(void) {
  for (int i = 0; i < LEAK_MEMFD; ++i) must(memfd_create("leaky", MFD_CLOEXEC) >= 0, "memfd_create");
}
__attribute__((noinline)) void leak_pty(void) {
  for (int i = 0; i < LEAK_PTY; ++i) must(posix_openpt(O_RDWR | O_NOCTTY) >= 0, "posix_openpt");
}
/* C library functions that open their descriptors internally. */
__attribute__((noinline)) void leak_shm_open(void) {
  char name[64];
  for (int i = 0; i < LEAK_SHM_OPEN; ++i) {
    snprintf(name, sizeof name, "/leaky_fds.%d.%d", (int)getpid(), i);
    must(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600) >= 0, "shm_open");
    shm_unlink(name); /* the descriptor stays open */
  }
}
__attribute__((noinline)) void leak_mkstemp(void) {
  char path[256];
  snprintf(path, sizeof path, "%s/temp.XXXXXX", scratch_dir);
  must(mkstemp(path) >= 0, "mkstemp");
  snprintf(path, sizeof path, "%s/temp.XXXXXX", scratch_dir);
  must(mkostemp(path, O_CLOEXEC) >= 0, "mkostemp");
  snprintf(path, sizeof path, "%s/temp.XXXXXX.log", scratch_dir);
  must(mkstemps(path, 4) >= 0, "mkstemps");
}
__attribute__((noinline)) void leak_tmpfile(void) {
  for (int i = 0; i < LEAK_TMPFILE; ++i) must(tmpfile() != NULL, "tmpfile");
}
__attribute__((noinline)) void leak_mmap_anon(void) {
  for (int i = 0; i < LEAK_MMAP_ANON; ++i)
    must(mmap(NULL, MMAP_ANON_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED,
         "mmap");
}
__attribute__((noinline)) void leak_mmap_file(void) {
  int fd = open(FILE_PATH, O_RDONLY);
  must(fd >= 0, "open");
  for (int i = 0; i < LEAK_MMAP_FILE; ++i) must(mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0) != MAP_FAILED, "mmap");
  close(fd); /* the mappings outlive the descriptor */
}
__attribute__((noinline)) void leak_mremap(void) {
  for (int i = 0; i < LEAK_MREMAP; ++i) {
    void* p = mmap(NULL, MREMAP_FROM_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    must(p != MAP_FAILED, "mmap");
    /* Something right after it, so growing has to move. */
    void* q = mmap((char*)p + MREMAP_FROM_PAGES * page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    must(mremap(p, MREMAP_FROM_PAGES * page, MREMAP_TO_PAGES * page, MREMAP_MAYMOVE) != MAP_FAILED, "mremap");
    if (q != MAP_FAILED) munmap(q, page);
  }
}

/* Balanced: everything made here is released before it returns. */
__attribute__((noinline)) void churn_balanced(void) {
  for (int i = 0; i < CHURN; ++i) {
    int fd = open(FILE_PATH, O_RDONLY);
    must(fd >= 0, "open");
    close(fd);
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    if (s >= 0) close(s);
    FILE* f = fopen(FILE_PATH, "r");
    must(f != NULL, "fopen");
    fclose(f);
    DIR* d = opendir("/");
    must(d != NULL, "opendir");
    closedir(d);
    int p[2];
    must(pipe(p) == 0, "pipe");
    close(p[0]);
    close(p[1]);
    char* m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    must(m != MAP_FAILED, "mmap");
    m[0] = 1;
    char* grown = mremap(m, 2 * page, 6 * page, MREMAP_MAYMOVE);
    must(grown != MAP_FAILED, "mremap");
    char* shrunk = mremap(grown, 6 * page, 3 * page, 0);
    must(shrunk == grown, "mremap shrink");
    munmap(shrunk, 3 * page);
    int e = eventfd(0, 0);
    int dupped = dup(e);
    int target = open("/dev/null", O_RDONLY);
    dup2(e, target); /* closes /dev/null */
    close(e);
    close(dupped);
    close(target);
    char shm[64];
    snprintf(shm, sizeof shm, "/leaky_fds_churn.%d", (int)getpid());
    int sfd = shm_open(shm, O_RDWR | O_CREAT, 0600);
    must(sfd >= 0, "shm_open");
    shm_unlink(shm);
    close(sfd);
    FILE* t = tmpfile();
    must(t != NULL, "tmpfile");
    fclose(t);
  }
}

static void* churn_thread(void* arg) {
  (void)arg;
  churn_balanced();
  return NULL;
}

int main(void) {
  page = sysconf(_SC_PAGESIZE);
  must(mkdtemp(scratch_dir) != NULL, "mkdtemp");
  listener = socket(AF_INET, SOCK_STREAM, 0);
  must(listener >= 0, "socket");
  memset(&listen_addr, 0, sizeof listen_addr);
  listen_addr.sin_family = AF_INET;
  listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  must(bind(listener, (struct sockaddr*)&listen_addr, sizeof listen_addr) == 0, "bind");
  socklen_t len = sizeof listen_addr;
  must(getsockname(listener, (struct sockaddr*)&listen_addr, &len) == 0, "getsockname");
  must(listen(listener, 16) == 0, "listen");
  int source = open(FILE_PATH, O_RDONLY);
  must(source >= 0, "open");
  churn_balanced(); /* warm up: first-use allocations land before "before" */

  checkpoint("before");
  pthread_t thread;
  must(pthread_create(&thread, NULL, churn_thread, NULL) == 0, "pthread_create");
  leak_open();
  leak_openat();
  leak_creat();
  leak_socket_inet();
  leak_socket_unix();
  leak_socketpair();
  leak_accept();
  leak_accept4();
  leak_pipe();
  leak_pipe2();
  leak_dup(source);
  leak_fcntl_dupfd(source);
  leak_fopen();
  leak_fdopen();
  leak_opendir();
  leak_epoll();
  leak_eventfd();
  leak_timerfd();
  leak_signalfd();
  leak_inotify();
  leak_memfd();
  leak_pty();
  leak_shm_open();
  leak_mkstemp();
  leak_tmpfile();
  leak_mmap_anon();
  leak_mmap_file();
  leak_mremap();
  churn_balanced();
  pthread_join(thread, NULL);
  checkpoint("after");
  char path[256];
  for (int i = 0; i < LEAK_CREAT; ++i) {
    snprintf(path, sizeof path, "%s/created.%d", scratch_dir, i);
    unlink(path);
  }
  rmdir(scratch_dir);
  return 0;
}
