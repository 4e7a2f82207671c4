/* A pre-fork server in miniature: the parent forks WORKERS children, each
   doing the same work (LEAKS blocks of SIZE bytes leaked from worker_leak)
   and exiting normally, so each writes its own exit dump
   (lifecycle_test.cc). Under sampling, each child's estimate must come from
   its own random draws. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 8
#define LEAKS 2000
#define SIZE 1000

static void* volatile sink;

__attribute__((noinline)) void worker_leak(void) {
  for (int i = 0; i < LEAKS; ++i) sink = malloc(SIZE);
}

int main(void) {
  for (int w = 0; w < WORKERS; ++w) {
    const pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      worker_leak();
      exit(0);
    }
  }
  int status, failed = 0;
  while (wait(&status) > 0) failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  return failed;
}
