/* A prefork worker that may start no thread: haproxy's workers drop to
   nobody and set RLIMIT_NPROC to 0 (to forbid fork), which makes every
   pthread_create in them fail with EAGAIN, leaktrace's dumper thread's
   too (fork_child_test.cc). The parent forks; the child drops to nobody
   when it is root (the limit does not bind root), sets RLIMIT_NPROC to 0,
   waits past leaktrace's lazy start of the dumper thread, opens /dev/null
   (a tracked event: the lazy start tries the thread there), leaks
   WORKER_LEAKS blocks from worker_leak(), and stops at checkpoint "worker"
   twice (the test snapshots it at each) before it exits. The parent waits
   for it. Exit 2 when a call fails. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "step_protocol.h"

#define NOBODY 65534
#define WORKER_LEAKS 5
#define WORKER_LEAK_SIZE 100

static void* volatile sink;

__attribute__((noinline)) static void worker_leak(void) {
  for (int i = 0; i < WORKER_LEAKS; ++i) sink = malloc(WORKER_LEAK_SIZE);
}

static int worker(void) {
  if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)) return 2;
  const struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_NPROC, &none) != 0) return 2;
  const struct timespec pause = {0, 300 * 1000 * 1000};
  nanosleep(&pause, NULL);
  if (open("/dev/null", O_RDONLY) < 0) return 2;
  worker_leak();
  checkpoint("worker");
  checkpoint("worker");
  return 0;
}

int main(void) {
  fflush(stdout);
  const pid_t child = fork();
  if (child < 0) return 2;
  if (child == 0) exit(worker());
  int status = 0;
  if (waitpid(child, &status, 0) != child) return 2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}
