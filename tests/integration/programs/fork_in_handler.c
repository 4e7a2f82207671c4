/* A process forked inside a signal handler that lives on in it, as
   postgres's postmaster starts some of its processes (fork_child_test.cc):
   the parent's SIGUSR1 handler forks; the child, still in the handler,
   waits in epoll_wait (100 ms at a time, up to 5 s, then exits 0). The
   parent prints checkpoint "child", then ends the child (SIGTERM) and
   exits 0. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "step_protocol.h"

static pid_t child;

static void child_waits(void) {
  const int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) _exit(1);
  struct epoll_event event;
  for (int i = 0; i < 50; ++i) epoll_wait(fd, &event, 1, 100);
  _exit(0);
}

static void on_usr1(int sig) {
  (void)sig;
  child = fork();
  if (child == 0) child_waits();
}

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = on_usr1;
  sigaction(SIGUSR1, &action, NULL);
  raise(SIGUSR1);
  if (child < 0) return 1;
  checkpoint("child");
  kill(child, SIGTERM);
  int status;
  waitpid(child, &status, 0);
  return 0;
}
