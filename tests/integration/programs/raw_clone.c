/* A child made by the clone system call itself, not fork (bwrap's child in a
   new pid namespace, a runtime's own process start): no fork handler runs
   in it. The child leaks 3 MiB from leak_in_clone_child and exits; the
   parent waits for it, prints "child PID parent PID" and exits
   (lifecycle_test.cc). Exit 2 when a call fails. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void* volatile keep;

__attribute__((noinline)) void leak_in_clone_child(void) {
  keep = malloc(3 << 20);
  if (keep) memset(keep, 1, 3 << 20);
}

int main(void) {
  for (int i = 0; i < 50; ++i) {
    keep = malloc(200000);
    free(keep);
  }
  const long child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (child < 0) return 2;
  if (child == 0) {
    leak_in_clone_child();
    exit(0);
  }
  int status = 0;
  if (waitpid((pid_t)child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 2;
  printf("child %ld parent %d\n", child, getpid());
  return 0;
}
