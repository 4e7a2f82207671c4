/* Small descriptor and mapping scenarios for fd_mmap_test.cc, one per
   argument: "partial-munmap", "dup2", "scm-rights" (received by recvmsg;
   "scm-rights-mmsg": by recvmmsg), "labels DIR",
   "raw-close", "pty" (each between checkpoints "before" and "after"), "fork", "fork-series", "vfork"
   and "exec" (judged from their exit dumps).
   Keep the constants in step with the test. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "step_protocol.h"

#define FILE_PATH "/etc/passwd"

static long page;

static void must(int ok, const char* what) {
  if (!ok) {
    perror(what);
    exit(2);
  }
}

static char* map_pages(long pages) {
  char* p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  must(p != MAP_FAILED, "mmap");
  return p;
}

/* ---- partial-munmap ------------------------------------------------------ */
#define PARTIAL_LEAKS 3
#define PARTIAL_PAGES 10 /* then 1 + 2 + 1 unmapped: 6 left in 3 pieces */

__attribute__((noinline)) char* map_partial(void) { return map_pages(PARTIAL_PAGES); }
__attribute__((noinline)) char* map_fixed_base(void) { return map_pages(8); }
__attribute__((noinline)) void replace_fixed(char* base) {
  must(mmap(base + 2 * page, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == base + 2 * page,
       "mmap fixed");
}
__attribute__((noinline)) char* map_then_shrink(void) { return map_pages(4); }
__attribute__((noinline)) char* map_unmapped_in_pieces(void) { return map_pages(4); }

static void partial_munmap(void) {
  checkpoint("before");
  for (int i = 0; i < PARTIAL_LEAKS; ++i) {
    char* p = map_partial();
    must(munmap(p, page) == 0, "munmap head");
    must(munmap(p + 4 * page, 2 * page) == 0, "munmap middle");
    must(munmap(p + (PARTIAL_PAGES - 1) * page, page) == 0, "munmap tail");
  }
  char* base = map_fixed_base();  /* 8 pages, 2 of them replaced: 6 left */
  replace_fixed(base);            /* 2 pages */
  char* s = map_then_shrink();    /* 4 pages shrunk to 1 */
  must(mremap(s, 4 * page, page, 0) == s, "mremap shrink");
  char* u = map_unmapped_in_pieces();
  must(munmap(u, 2 * page) == 0, "munmap");
  must(munmap(u + 2 * page, 2 * page) == 0, "munmap");
  checkpoint("after");
}

/* ---- dup2 ------------------------------------------------------------------ */
__attribute__((noinline)) int open_target(void) {
  int fd = open(FILE_PATH, O_RDONLY);
  must(fd >= 0, "open");
  return fd;
}
__attribute__((noinline)) int make_socket_source(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  must(fd >= 0, "socket");
  return fd;
}
__attribute__((noinline)) int make_eventfd_source(void) {
  int fd = eventfd(0, 0);
  must(fd >= 0, "eventfd");
  return fd;
}
__attribute__((noinline)) void dup2_over(int source, int target) { must(dup2(source, target) == target, "dup2"); }
__attribute__((noinline)) void dup3_over(int source, int target) {
  must(dup3(source, target, O_CLOEXEC) == target, "dup3");
}

static void dup2_scenario(void) {
  checkpoint("before");
  int target = open_target();
  int source = make_socket_source();
  dup2_over(source, target); /* closes the open file; target is now a socket */
  close(source);
  int target2 = open_target();
  int source2 = make_eventfd_source();
  dup3_over(source2, target2);
  close(source2);
  checkpoint("after");
}

/* ---- labels ------------------------------------------------------------------
   Descriptors opened by path keep open until the "after" snapshot, so their
   kind is told at the snapshot (leaktrace checks a guessed kind only for
   descriptors still open then): each kind of path, files renamed or deleted
   after their open, copies, and numbers that dup2 gave something else. */
static char labels_dir[4096];

static const char* in_dir(const char* name) {
  static char path[8][4200];
  static int next;
  char* p = path[next++ % 8];
  snprintf(p, sizeof path[0], "%s/%s", labels_dir, name);
  return p;
}

static void make_file(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  must(fd >= 0, "create");
  close(fd);
}

__attribute__((noinline)) int open_abs(const char* path, int flags) {
  int fd = open(path, flags);
  must(fd >= 0, path);
  return fd;
}
__attribute__((noinline)) int open_relative(const char* name) {
  int fd = open(name, O_RDONLY);
  must(fd >= 0, name);
  return fd;
}
/* Relative to the working directory after a chdir or fchdir. */
__attribute__((noinline)) int open_after_chdir(const char* name) {
  int fd = open(name, O_RDONLY);
  must(fd >= 0, name);
  return fd;
}
/* nftw with FTW_CHDIR moves the working directory by glibc's own calls,
   which no hook sees: the callback opens each file by its base name. */
__attribute__((noinline)) int open_in_walk(const char* name) {
  int fd = open(name, O_RDONLY);
  must(fd >= 0, name);
  return fd;
}
static int walk_entry(const char* path, const struct stat* st, int type, struct FTW* at) {
  (void)st;
  if (type == FTW_F && strcmp(path + at->base, "inner") == 0) open_in_walk(path + at->base);
  return 0;
}
/* Relative to a directory descriptor, not to the working directory. */
__attribute__((noinline)) int open_at_dir(int dirfd, const char* name) {
  int fd = openat(dirfd, name, O_RDONLY);
  must(fd >= 0, name);
  return fd;
}
__attribute__((noinline)) int open_then_renamed(void) {
  int fd = open(in_dir("renamed-from"), O_RDONLY);
  must(fd >= 0, "open renamed-from");
  return fd;
}
__attribute__((noinline)) int open_then_deleted(void) {
  int fd = open(in_dir("deleted"), O_RDONLY);
  must(fd >= 0, "open deleted");
  return fd;
}
__attribute__((noinline)) int open_to_copy(void) { return open_abs(in_dir("copied"), O_RDONLY); }
__attribute__((noinline)) int open_to_replace(void) { return open_abs(in_dir("replaced"), O_RDONLY); }
__attribute__((noinline)) int open_to_replace_untracked(void) { return open_abs(in_dir("replaced-untracked"), O_RDONLY); }
__attribute__((noinline)) void copy_with_dup2(int source, int target) { must(dup2(source, target) == target, "dup2 copy"); }
__attribute__((noinline)) void pipe_over(int source, int target) { must(dup2(source, target) == target, "dup2 pipe"); }
__attribute__((noinline)) void untracked_over(int source, int target) {
  must(dup2(source, target) == target, "dup2 untracked");
}
__attribute__((noinline)) void dup2_fails(int target) { must(dup2(100000, target) < 0, "dup2 of a bad descriptor"); }
__attribute__((noinline)) int open_dup2_survivor(void) { return open_abs(in_dir("survivor"), O_RDONLY); }

static void labels(const char* dir) {
  snprintf(labels_dir, sizeof labels_dir, "%s", dir);
  must(mkdir(in_dir("subdir"), 0700) == 0, "mkdir");
  must(mkfifo(in_dir("fifo"), 0600) == 0, "mkfifo");
  const char* files[] = {"plain",    "renamed-from", "deleted",      "copied",       "replaced", "replaced-untracked",
                         "relative", "survivor",     "subdir/inner", "subdir/dotted", "outer"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; ++i) make_file(in_dir(files[i]));
  must(chdir(labels_dir) == 0, "chdir");
  /* A target number for the copy, far from the rest. */
  const int copy_target = 70;
  checkpoint("before");
  open_abs(in_dir("plain"), O_RDONLY);                    /* file:DIR/plain */
  open_abs(in_dir("subdir"), O_RDONLY);                   /* dir:DIR/subdir (no O_DIRECTORY) */
  open_abs(in_dir("fifo"), O_RDWR | O_NONBLOCK);          /* fifo:DIR/fifo */
  open_abs("/dev/null", O_RDONLY);                        /* device:/dev/null */
  open_relative("relative");                              /* file:DIR/relative (resolved at the open) */
  must(rename("relative", "relative-moved") == 0, "rename relative");
  open_relative("./subdir/./dotted");                     /* file:DIR/subdir/dotted ("./" dropped) */
  open_relative("subdir/../outer");                       /* file:DIR/outer (".." resolved by the descriptor) */
  must(chdir("subdir") == 0, "chdir subdir");
  open_after_chdir("inner");                              /* file:DIR/subdir/inner: where it is now */
  int top = open(labels_dir, O_RDONLY | O_DIRECTORY);
  must(top >= 0 && fchdir(top) == 0, "fchdir");
  close(top);
  open_after_chdir("plain");                              /* file:DIR/plain: back at DIR */
  must(nftw(in_dir("subdir"), walk_entry, 4, FTW_CHDIR) == 0, "nftw");  /* file:DIR/subdir/inner */
  int subdir = open(in_dir("subdir"), O_RDONLY | O_DIRECTORY);
  must(subdir >= 0, "open subdir");
  open_at_dir(subdir, "inner");                           /* file:DIR/subdir/inner, not DIR/inner */
  close(subdir);
  open_then_renamed();                                    /* file:DIR/renamed-from: the path the program gave */
  must(rename(in_dir("renamed-from"), in_dir("renamed-to")) == 0, "rename");
  open_then_deleted();                                    /* file:DIR/deleted */
  must(unlink(in_dir("deleted")) == 0, "unlink");
  int copied = open_to_copy();                            /* file:DIR/copied */
  copy_with_dup2(copied, copy_target);                    /* file:DIR/copied, at the dup2 */
  int fds[2];
  must(pipe(fds) == 0, "pipe");
  pipe_over(fds[0], copied);                              /* the copied file's number is now a pipe */
  close(fds[0]);
  close(fds[1]);                                          /* the pipe lives on as `copied` */
  int replaced = open_to_replace();
  must(pipe(fds) == 0, "pipe");
  pipe_over(fds[1], replaced);
  close(fds[0]);
  close(fds[1]);
  /* An eventfd made behind the hooks' back (a raw system call) dup2'd over
     a file: the copy is probed now, an eventfd. */
  int raw = (int)syscall(SYS_eventfd2, 0, 0);
  must(raw >= 0, "raw eventfd");
  int replaced_untracked = open_to_replace_untracked();
  untracked_over(raw, replaced_untracked);
  syscall(SYS_close, raw);
  int survivor = open_dup2_survivor();                    /* a failed dup2 onto it leaves it as it was */
  dup2_fails(survivor);
  checkpoint("after");
}

/* ---- scm-rights ------------------------------------------------------------- */
#define SENT_FILES 3 /* plus both ends of a pipe and a datagram socket: 6 descriptors */
#define SENT_TOTAL 6

__attribute__((noinline)) void send_fds(int channel) {
  int fds[SENT_TOTAL];
  for (int i = 0; i < SENT_FILES; ++i) must((fds[i] = open(FILE_PATH, O_RDONLY)) >= 0, "open");
  must(pipe(fds + SENT_FILES) == 0, "pipe");
  must((fds[SENT_FILES + 2] = socket(AF_INET, SOCK_DGRAM, 0)) >= 0, "socket");
  char byte = 'x';
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof fds)];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  must(sendmsg(channel, &msg, 0) == 1, "sendmsg");
  for (int i = 0; i < SENT_TOTAL; ++i) close(fds[i]); /* the receiver's copies stay */
}

static int receive_with_recvmmsg; /* "scm-rights-mmsg" */

__attribute__((noinline)) void receive_fds(int channel) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(SENT_TOTAL * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  if (receive_with_recvmmsg) {
    struct mmsghdr one = {msg, 0};
    must(recvmmsg(channel, &one, 1, 0, NULL) == 1 && one.msg_len == 1, "recvmmsg");
    msg = one.msg_hdr;
  } else {
    must(recvmsg(channel, &msg, 0) == 1, "recvmsg");
  }
  must(!(msg.msg_flags & MSG_CTRUNC), "truncated control message");
}

static void scm_rights(void) {
  int sv[2];
  must(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair");
  checkpoint("before");
  send_fds(sv[0]);
  receive_fds(sv[1]);
  checkpoint("after");
}

/* ---- fork ------------------------------------------------------------------ */
#define FORK_PARENT_OPENS 4
#define FORK_CHILD_CLOSES 1
#define FORK_CHILD_OPENS 2

__attribute__((noinline)) void open_before_fork(int* fds) {
  for (int i = 0; i < FORK_PARENT_OPENS; ++i) must((fds[i] = open(FILE_PATH, O_RDONLY)) >= 0, "open");
}
__attribute__((noinline)) void child_opens(void) {
  for (int i = 0; i < FORK_CHILD_OPENS; ++i) must(socket(AF_UNIX, SOCK_STREAM, 0) >= 0, "socket");
}

static void fork_scenario(void) {
  int fds[FORK_PARENT_OPENS];
  open_before_fork(fds);
  pid_t pid = fork();
  must(pid >= 0, "fork");
  if (pid == 0) {
    for (int i = 0; i < FORK_CHILD_CLOSES; ++i) close(fds[i]);
    child_opens();
    exit(0);
  }
  int status;
  must(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child");
}

/* ---- fork series ------------------------------------------------------------ */
/* The parent forks SERIES_CHILDREN children one after another, each made
   and waited for at the same place: each opens a socket and copies it
   (dup2) at sites only the children reach, and exits with both open. The
   first child unwinds these chains in full; the later ones are answered by
   what the earlier ones taught the parent (unwind_cache.cc, "Lessons"). */
#define SERIES_CHILDREN 12
#define SERIES_COPY_FD 50

__attribute__((noinline)) int series_child_opens(void) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  must(fd >= 0, "socket");
  return fd;
}
__attribute__((noinline)) void series_child_copies(int fd) {
  must(dup2(fd, SERIES_COPY_FD) == SERIES_COPY_FD, "dup2");
}

__attribute__((noinline)) static void fork_series(void) {
  must(socket(AF_UNIX, SOCK_STREAM, 0) >= 0, "socket");  /* the parent's own, as a server's listener */
  for (int i = 0; i < SERIES_CHILDREN; ++i) {
    pid_t pid = fork();
    must(pid >= 0, "fork");
    if (pid == 0) {
      series_child_copies(series_child_opens());
      exit(0);
    }
    int status;
    must(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child");
  }
}

/* ---- vfork ----------------------------------------------------------------- */
/* The child shares the parent's memory: its close and dup2 (made before
   _exit, as a shell or Python's subprocess does before exec) are its own.
   After it, the parent's own calls are tracked again. */
#define VFORK_PARENT_OPENS_AFTER 2

__attribute__((noinline)) void parent_opens_after_vfork(void) {
  for (int i = 0; i < VFORK_PARENT_OPENS_AFTER; ++i) must(socket(AF_UNIX, SOCK_STREAM, 0) >= 0, "socket");
}

static void vfork_scenario(void) {
  int fds[FORK_PARENT_OPENS];
  open_before_fork(fds);
  pid_t pid = vfork();
  must(pid >= 0, "vfork");
  if (pid == 0) {
    close(fds[0]);
    if (dup2(fds[1], 60) != 60) _exit(3);
    _exit(0);
  }
  int status;
  must(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child");
  parent_opens_after_vfork();
}

/* ---- exec ------------------------------------------------------------------ */
__attribute__((noinline)) void open_before_exec(void) {
  for (int i = 0; i < 3; ++i) must(open(FILE_PATH, O_RDONLY) >= 0, "open"); /* not close-on-exec */
}

/* ---- raw-close -------------------------------------------------------------
   Descriptors closed through syscall(2), as code written before glibc had
   close_range does: RAW_CLOSED by SYS_close, RAW_RANGE by SYS_close_range
   over a range of their own; the RAW_KEPT opened after them stay open.
   Each is moved to a number of its own first (800.., 900..), so no later
   open reuses its number (a reuse would replace the stale record anyway). */
#define RAW_CLOSED 3
#define RAW_RANGE 4
#define RAW_KEPT 2
/* Inlined into each caller below, so each is a site of its own. */
static inline __attribute__((always_inline)) int open_moved_to(int lowest) {
  int fd = open(FILE_PATH, O_RDONLY | O_CLOEXEC);
  must(fd >= 0, "open");
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, lowest);
  must(moved >= lowest, "F_DUPFD_CLOEXEC");
  close(fd);
  return moved;
}
__attribute__((noinline)) int move_for_close(int i) { return open_moved_to(800 + i); }
__attribute__((noinline)) int move_for_range(int i) { return open_moved_to(900 + i); }
__attribute__((noinline)) int open_raw_kept(void) {
  int fd = open(FILE_PATH, O_RDONLY | O_CLOEXEC);
  must(fd >= 0, "open"); /* after the call: no tail call, so this frame is on the stack */
  return fd;
}

/* A memfd made by syscall(3), as a JVM's ZGC makes its heap's: counted. */
__attribute__((noinline)) void make_raw_memfd(void) {
  must(syscall(SYS_memfd_create, "raw", 0u) >= 0, "syscall(SYS_memfd_create)");
}

static void raw_close(void) {
  checkpoint("before");
  make_raw_memfd();
  make_raw_memfd();
  for (int i = 0; i < RAW_CLOSED; ++i) must(syscall(SYS_close, move_for_close(i)) == 0, "syscall(SYS_close)");
  for (int i = 0; i < RAW_RANGE; ++i) move_for_range(i);
  must(syscall(SYS_close_range, 900u, 900u + RAW_RANGE + 10, 0u) == 0, "syscall(SYS_close_range)");
  for (int i = 0; i < RAW_KEPT; ++i) open_raw_kept();
  /* A close of a descriptor that is not open fails as without leaktrace. */
  errno = 0;
  must(syscall(SYS_close, 12345) == -1 && errno == EBADF, "syscall(SYS_close) of a closed descriptor");
  checkpoint("after");
}

/* ---- pty ---------------------------------------------------------------------
   Ptys made by openpty (both ends kept) and forkpty (the parent keeps the
   master; the child ends at once), which open them inside libc. */
__attribute__((noinline)) void open_pty_pair(void) {
  int master, slave;
  must(openpty(&master, &slave, NULL, NULL, NULL) == 0, "openpty");
}
__attribute__((noinline)) void fork_pty(void) {
  int master;
  const pid_t pid = forkpty(&master, NULL, NULL, NULL);
  must(pid >= 0, "forkpty");
  if (pid == 0) _exit(0);
  int status;
  must(waitpid(pid, &status, 0) == pid, "waitpid");
}

static void pty_scenario(void) {
  checkpoint("before");
  open_pty_pair();
  fork_pty();
  checkpoint("after");
}

int main(int argc, char** argv) {
  page = sysconf(_SC_PAGESIZE);
  if (argc < 2) return 2;
  if (strcmp(argv[1], "partial-munmap") == 0) partial_munmap();
  else if (strcmp(argv[1], "dup2") == 0) dup2_scenario();
  else if (strcmp(argv[1], "raw-close") == 0) raw_close();
  else if (strcmp(argv[1], "pty") == 0) pty_scenario();
  else if (strcmp(argv[1], "scm-rights") == 0) scm_rights();
  else if (strcmp(argv[1], "scm-rights-mmsg") == 0) {
    receive_with_recvmmsg = 1;
    scm_rights();
  }
  else if (strcmp(argv[1], "labels") == 0 && argc > 2) labels(argv[2]);
  else if (strcmp(argv[1], "fork") == 0) fork_scenario();
  else if (strcmp(argv[1], "vfork") == 0) vfork_scenario();
  else if (strcmp(argv[1], "fork-series") == 0) fork_series();
  else if (strcmp(argv[1], "exec") == 0) {
    open_before_exec();
    execl("/proc/self/exe", argv[0], "exec-child", (char*)NULL);
    return 4;
  } else if (strcmp(argv[1], "exec-child") == 0) {
    return 0;
  } else {
    return 2;
  }
  return 0;
}
