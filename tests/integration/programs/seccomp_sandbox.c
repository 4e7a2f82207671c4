/* A program that locks itself into a seccomp sandbox, as sandboxed workers
   do (OpenSSH's pre-authentication child, a browser's renderer): a filter
   that allows a short list of system calls and kills the process on any
   other. Then it allocates, opens its working directory and a file in it
   by relative paths, prints and exits with status 5. Under leaktrace it must
   end the same way: a dump written after the filter is in place (its
   openat, rename ...) would have the process killed by SIGSYS, and so would
   a call the recording makes that the program does not (the unwinder's
   mincore, a readlink or getcwd to name a descriptor).
     seccomp_sandbox prctl  the filter by prctl(PR_SET_SECCOMP), this thread
     seccomp_sandbox tsync  the filter by the seccomp system call, on every
                            thread (SECCOMP_FILTER_FLAG_TSYNC), as libseccomp
                            installs it
     seccomp_sandbox wait   as tsync, then stops at checkpoint "sandboxed"
                            (step_protocol.h) before its work
     seccomp_sandbox nofile as wait, in a fork child that sets its soft
                            RLIMIT_NOFILE to 0 before the filter (OpenSSH's
                            pre-authentication child does so) and opens
                            nothing after the checkpoint; the parent waits
                            for it and exits with its status
     seccomp_sandbox probe  only libseccomp's probe (a filter of NULL, which
                            fails with EFAULT), then exits 0: no sandbox
     seccomp_sandbox exec   a filter that refuses (ENOSYS) the calls that
                            link or rename a file, then execs itself as
                            "child", which allocates, prints and exits 5:
                            a sandbox the new program inherits, as man-db
                            runs col and groff
     seccomp_sandbox noreadv PROGRAM ARGS...
                            a filter that kills the process on
                            process_vm_readv and allows the rest (a
                            systemd unit's SystemCallFilter= may leave it
                            out), then execs PROGRAM: a sandbox it inherits */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "step_protocol.h"

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define REFUSE(nr) \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)

/* The filter of "exec": everything but linking and renaming files. */
static int exec_in_sandbox(char* self) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      REFUSE(__NR_linkat), REFUSE(__NR_link), REFUSE(__NR_rename), REFUSE(__NR_renameat), REFUSE(__NR_renameat2),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("seccomp");
    return 11;
  }
  char* child[] = {self, "child", NULL};
  execv(self, child);
  perror("execv");
  return 13;
}

/* The filter of "noreadv": everything but process_vm_readv, which kills. */
static int exec_without_readv(char** program) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("seccomp");
    return 11;
  }
  execv(program[0], program);
  perror("execv");
  return 13;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "prctl";
  if (strcmp(mode, "noreadv") == 0 && argc > 2) return exec_without_readv(argv + 2);
  if (strcmp(mode, "probe") == 0) {
    const long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL);
    printf("probe %ld %s\n", rc, rc == -1 && errno == EFAULT ? "EFAULT" : strerror(errno));
    return 0;
  }
  if (strcmp(mode, "exec") == 0) return exec_in_sandbox(argv[0]);
  if (strcmp(mode, "child") == 0) {
    char* p = malloc(100000);
    memset(p, 2, 100000);
    printf("child %d\n", p[99999]);
    free(p);
    return 5;
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      ALLOW(__NR_read), ALLOW(__NR_write), ALLOW(__NR_exit), ALLOW(__NR_exit_group), ALLOW(__NR_brk),
      ALLOW(__NR_mmap), ALLOW(__NR_munmap), ALLOW(__NR_futex), ALLOW(__NR_rt_sigprocmask),
      ALLOW(__NR_rt_sigreturn), ALLOW(__NR_newfstatat), ALLOW(__NR_fstat), ALLOW(__NR_openat),
      ALLOW(__NR_close),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  char* before = malloc(1 << 20);  // something live, allocated before the sandbox
  memset(before, 1, 1 << 20);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("PR_SET_NO_NEW_PRIVS");
    return 10;
  }
  const int nofile = strcmp(mode, "nofile") == 0;
  const int wait = strcmp(mode, "wait") == 0 || nofile;
  if (nofile) {
    const pid_t child = fork();
    if (child < 0) return 15;
    int status = 0;
    if (child > 0) return waitpid(child, &status, 0) == child && WIFEXITED(status) ? WEXITSTATUS(status) : 16;
  }
  struct rlimit files;
  if (nofile && (getrlimit(RLIMIT_NOFILE, &files) != 0 || (files.rlim_cur = 0, setrlimit(RLIMIT_NOFILE, &files)) != 0)) {
    perror("RLIMIT_NOFILE");
    return 14;
  }
  const long rc = strcmp(mode, "tsync") == 0 || wait
                      ? syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)
                      : prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
  if (rc != 0) {
    perror("seccomp");
    return 11;
  }
  if (wait) checkpoint("sandboxed");
  long sum = 0;
  for (int i = 0; i < 20000; ++i) {
    char* p = malloc(64 + (size_t)(i % 5000) * 16);
    p[0] = (char)i;
    sum += p[0];
    free(p);
  }
  /* Descriptors opened by relative paths, in the working directory and
     under a directory descriptor (none under a limit of 0). */
  if (nofile) {
    printf("sandboxed %ld\n", sum);
    fflush(stdout);
    return 5;
  }
  const int dir = open(".", O_RDONLY | O_DIRECTORY);
  const int inner = dir >= 0 ? openat(dir, ".", O_RDONLY | O_DIRECTORY) : -1;
  if (dir < 0 || inner < 0) {
    perror("open .");
    return 12;
  }
  close(inner);
  close(dir);
  printf("sandboxed %ld\n", sum);
  fflush(stdout);
  return 5;
}
