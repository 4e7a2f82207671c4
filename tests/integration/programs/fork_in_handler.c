/* A process forked inside a signal handler that lives on in it, as
   postgres's postmaster starts some of its processes (fork_child_test.cc):
   the parent waits in poll, as the postmaster waits in select; a timer's
   SIGALRM cuts the poll short, and its handler forks; the child, still in
   the handler, waits in epoll_wait (100 ms at a time, up to 5 s, then
   exits 0). The parent prints checkpoint "child", then ends the child
   (SIGTERM) and exits 0. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/time.h>
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

static void on_alarm(int sig) {
  (void)sig;
  child = fork();
  if (child == 0) child_waits();
}

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  const struct itimerval soon = {{0, 0}, {0, 20 * 1000}};
  setitimer(ITIMER_REAL, &soon, NULL);
  while (child == 0) poll(NULL, 0, 1000);
  if (child < 0) return 1;
  checkpoint("child");
  kill(child, SIGTERM);
  int status;
  waitpid(child, &status, 0);
  return 0;
}
