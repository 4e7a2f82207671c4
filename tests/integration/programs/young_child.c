/* A fork child that a test snapshots while it is young: the parent forks;
   the child leaks CHILD_LEAKS blocks from child_leak(), stops at checkpoint
   "child" (the test takes `leaktrace snapshot CHILD` there), then exits
   normally; the parent waits for it and exits. Prints "parent P child C".
   `young_child spin`: the child prints "spinning" instead and runs its own
   code, no system call, until SIGUSR1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "step_protocol.h"

#define CHILD_LEAKS 5
#define CHILD_LEAK_SIZE 100

static void* volatile sink;
static volatile sig_atomic_t g_go_on;

static void on_usr1(int sig) { (void)sig; g_go_on = 1; }

__attribute__((noinline)) static void child_leak(void) {
  for (int i = 0; i < CHILD_LEAKS; ++i) sink = malloc(CHILD_LEAK_SIZE);
}

int main(int argc, char** argv) {
  const int spin = argc > 1 && strcmp(argv[1], "spin") == 0;
  if (spin) signal(SIGUSR1, on_usr1);
  fflush(stdout);
  const pid_t child = fork();
  if (child < 0) return 2;
  if (child == 0) {
    child_leak();
    if (spin) {
      printf("spinning\n");
      fflush(stdout);
      while (!g_go_on) {
      }
    } else {
      checkpoint("child");
    }
    exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) return 3;
  printf("parent %d child %d\n", (int)getpid(), (int)child);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
