/* A program under a limit on processes (ulimit -u, a service's LimitNPROC)
   that makes threads, or with the argument "fork" children, until one is
   refused (lifecycle_test.cc): from root it drops to user 64998 (no
   account: no other process counts against its limit, as nobody's could)
   with RLIMIT_NPROC 12, waits 200 ms (leaktrace's dumper thread starts at
   a wait), then creates threads that wait, until pthread_create fails, and
   prints "created N"; or forks children that wait for work on a pipe (a
   read, in which leaktrace starts no thread of theirs), until fork fails,
   prints "forked N" and ends them. Exit 77 when not run as root, 2 when a
   call fails. */
#define _GNU_SOURCE
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#define ALONE 64998

static void* waiting(void* arg) {
  (void)arg;
  pause();
  return NULL;
}

static int fork_until_refused(void) {
  pid_t children[100];
  int work[2];
  if (pipe(work) != 0) return 2;
  int forked = 0;
  for (; forked < 100; ++forked) {
    const pid_t child = fork();
    if (child < 0) break;
    if (child == 0) {
      char c;
      _exit(read(work[0], &c, 1) == 1 ? 0 : 1);
    }
    children[forked] = child;
  }
  printf("forked %d\n", forked);
  fflush(stdout);
  for (int i = 0; i < forked; ++i) {
    kill(children[i], SIGKILL);
    waitpid(children[i], NULL, 0);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (geteuid() != 0) return 77;
  const struct rlimit limit = {12, 12};
  if (setrlimit(RLIMIT_NPROC, &limit) != 0 || setgroups(0, NULL) != 0 || setgid(ALONE) != 0 ||
      setuid(ALONE) != 0)
    return 2;
  usleep(200 * 1000);
  if (argc > 1 && strcmp(argv[1], "fork") == 0) return fork_until_refused();
  int created = 0;
  for (; created < 100; ++created) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, waiting, NULL) != 0) break;
  }
  printf("created %d\n", created);
  return 0;
}
