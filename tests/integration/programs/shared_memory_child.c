/* A child made by clone(CLONE_VM), sharing the parent's memory as vfork's
   child does (stress-ng's clone stressor makes such children), calls
   unshare(CLONE_NEWUSER) CALLS times, as a sandboxing launcher would, and
   exits. Prints "calls N ms T": T the milliseconds the child took (each
   unshare a few microseconds; refused or not does not matter here).
   Usage: shared_memory_child CALLS */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

static volatile double g_child_ms = -1;
static int g_calls;

static double NowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int Child(void* arg) {
  (void)arg;
  const double start = NowMs();
  for (int i = 0; i < g_calls; ++i) unshare(CLONE_NEWUSER);
  g_child_ms = NowMs() - start;
  return 0;
}

int main(int argc, char** argv) {
  g_calls = argc > 1 ? atoi(argv[1]) : 10;
  const size_t stack_bytes = 256 * 1024;
  char* stack = malloc(stack_bytes);
  if (stack == NULL) return 1;
  const pid_t pid = clone(Child, stack + stack_bytes, CLONE_VM | SIGCHLD, NULL);
  if (pid < 0) {
    perror("clone");
    return 1;
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  printf("calls %d ms %.1f\n", g_calls, g_child_ms);
  return 0;
}
