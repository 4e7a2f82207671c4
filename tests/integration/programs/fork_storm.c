/* Forks CHILDREN times while four threads allocate and free without pause.
   Each child (single-threaded copy of a busy parent) allocates, leaks
   child_leak() blocks and exits normally: it must neither deadlock nor crash,
   and it writes its own exit dump. Usage: fork_storm CHILDREN */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;
static void* volatile sink;

static void* churn(void* arg) {
  (void)arg;
  unsigned n = 0;
  while (!stop) {
    void* p = malloc(16 + (n++ % 512));
    sink = p;
    free(p);
  }
  return NULL;
}

__attribute__((noinline)) static void child_leak(void) {
  for (int i = 0; i < 3; ++i) sink = malloc(333);
}

int main(int argc, char** argv) {
  const int children = argc > 1 ? atoi(argv[1]) : 30;
  pthread_t threads[4];
  for (int i = 0; i < 4; ++i) pthread_create(&threads[i], NULL, churn, NULL);
  int failures = 0;
  for (int c = 0; c < children; ++c) {
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      for (int i = 0; i < 1000; ++i) free(malloc(64));
      child_leak();
      exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
  }
  stop = 1;
  for (int i = 0; i < 4; ++i) pthread_join(threads[i], NULL);
  printf("children %d failures %d\n", children, failures);
  return failures == 0 ? 0 : 1;
}
