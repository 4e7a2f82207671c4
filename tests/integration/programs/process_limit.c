/* A worker that drops from root to nobody and then forbids itself new
   processes and threads (RLIMIT_NPROC 0), as haproxy's workers do, then
   waits in epoll_wait like a server. Checkpoint "limited" after its first
   wait. Exit 77 when not run as root, 2 when a call fails. */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "step_protocol.h"

#define NOBODY 65534

int main(void) {
  if (geteuid() != 0) return 77;
  if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
    perror("drop privileges");
    return 2;
  }
  const struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_NPROC, &none) != 0) {
    perror("setrlimit");
    return 2;
  }
  const int ep = epoll_create1(0);
  struct epoll_event event;
  if (ep < 0 || epoll_wait(ep, &event, 1, 10) < 0) {
    perror("epoll");
    return 2;
  }
  checkpoint("limited");
  return 0;
}
