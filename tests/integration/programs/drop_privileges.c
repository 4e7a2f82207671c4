/* A server that starts as root and drops to nobody, as nginx workers and
   postgres-style daemons do; its dump directory stays root's
   (lifecycle_test.cc). Checkpoint "dropped" after the drop, "after" once it
   leaked LEAKS blocks of SIZE bytes. Exit 2 when a call fails. */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "step_protocol.h"

#define NOBODY 65534
#define LEAKS 100
#define SIZE 4096

__attribute__((noinline)) void leak_as_nobody(void) {
  for (int i = 0; i < LEAKS; ++i) {
    void* volatile p = malloc(SIZE);
    (void)p;
  }
}

int main(void) {
  if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
    perror("drop privileges");
    return 2;
  }
  checkpoint("dropped");
  leak_as_nobody();
  checkpoint("after");
  return 0;
}
