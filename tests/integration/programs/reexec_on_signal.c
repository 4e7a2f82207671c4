/* A server that executes itself again on a reload signal, under the same
   pid, as haproxy's master does on SIGUSR2 (-W) and nginx on a binary
   upgrade (snapshot_reexec_test.cc):
     reexec_on_signal [GEN [untracked]]
   prints "ready GEN" and waits for nothing in epoll_pwait; on SIGHUP it
   executes itself with GEN + 1. One thread of its own. With "untracked",
   an image of odd GEN executes the next without LD_PRELOAD in its
   environment (the library then not in it).
   An image of even GEN waits in the C library's epoll_pwait, as a server
   idle in its event loop: leaktrace's hooks see the wait, and start their
   thread between two of its slices when `leaktrace snapshot` asks. An image
   of odd GEN waits in the raw system call, where no hook sees it: it stands
   for a reload's work before the exec that makes no tracked event (haproxy's
   master waiting for its old workers), so its library never learns of a
   request made of it, and a snapshot asked of it can only be written by the
   image it executes. Exit 1 when a call fails. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t reload;

static void on_hup(int sig) {
  (void)sig;
  reload = 1;
}

int main(int argc, char** argv) {
  const int gen = argc > 1 ? atoi(argv[1]) : 0;
  /* SIGHUP blocked but in the wait itself: one sent before the wait is
     taken there, never lost between a look at `reload` and the wait. The
     mask outlives the exec, which the next image's blocking agrees with. */
  sigset_t hup, waiting;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &hup, &waiting) != 0) return 1;
  sigdelset(&waiting, SIGHUP);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_hup;
  if (sigaction(SIGHUP, &action, NULL) != 0) return 1;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 1;
  printf("ready %d\n", gen);
  fflush(stdout);
  while (!reload) {
    struct epoll_event event;
    if (gen % 2 == 0)
      epoll_pwait(ep, &event, 1, -1, &waiting);
    else
      syscall(SYS_epoll_pwait, ep, &event, 1, -1, &waiting, _NSIG / 8);
  }
  char next[16];
  snprintf(next, sizeof next, "%d", gen + 1);
  const int untracked = argc > 2 && strcmp(argv[2], "untracked") == 0;
  if (untracked && gen % 2 == 1) unsetenv("LD_PRELOAD");
  char* again[] = {argv[0], next, untracked ? argv[2] : NULL, NULL};
  execv(argv[0], again);
  return 1;
}
