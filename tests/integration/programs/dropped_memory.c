/* A daemon that starts as root and drops to nobody (memcached -u, haproxy's
   `user`, lighttpd's server.username), which makes it non-dumpable: the
   kernel then gives its /proc/self/pagemap and /proc/self/task/TID/syscall
   to root (memory_test.cc). Checkpoint "before" after the drop; "after"
   once it mapped and wrote MAP_MIB MiB and started THREADS threads that
   block forever. Exit 2 when a call fails. */
#define _GNU_SOURCE
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "step_protocol.h"

#define NOBODY 65534
#define MAP_MIB 8
#define THREADS 4

static void* block_forever(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

__attribute__((noinline)) static int map_as_nobody(void) {
  const size_t bytes = (size_t)MAP_MIB << 20;
  char* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return -1;
  memset(p, 1, bytes);
  return 0;
}

int main(void) {
  if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
    perror("drop privileges");
    return 2;
  }
  checkpoint("before");
  if (map_as_nobody() != 0) return 2;
  for (int i = 0; i < THREADS; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, block_forever, NULL) != 0) return 2;
  }
  checkpoint("after");
  return 0;
}
