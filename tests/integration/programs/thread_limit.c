/* A program under a limit on processes (ulimit -u, a service's LimitNPROC)
   that makes threads until one is refused (lifecycle_test.cc): from root it
   drops to user 64998 (no account: no other process counts against its
   limit, as nobody's could) with RLIMIT_NPROC 12, waits 200 ms (leaktrace's dumper
   thread starts at a wait), then creates threads that wait, until
   pthread_create fails, and prints "created N". Exit 77 when not run as
   root, 2 when a call fails. */
#define _GNU_SOURCE
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#define ALONE 64998

static void* waiting(void* arg) {
  (void)arg;
  pause();
  return NULL;
}

int main(void) {
  if (geteuid() != 0) return 77;
  const struct rlimit limit = {12, 12};
  if (setrlimit(RLIMIT_NPROC, &limit) != 0 || setgroups(0, NULL) != 0 || setgid(ALONE) != 0 ||
      setuid(ALONE) != 0)
    return 2;
  usleep(200 * 1000);
  int created = 0;
  for (; created < 100; ++created) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, waiting, NULL) != 0) break;
  }
  printf("created %d\n", created);
  return 0;
}
