/* Forks while a second thread allocates; the child leaks CHILD_LEAKS blocks
   from child_leak() and exits normally, so it writes its own exit dump. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_LEAKS 7
#define CHILD_LEAK_SIZE 1000

static volatile int stop;
static void* volatile sink;

static void* allocate_forever(void* arg) {
  (void)arg;
  while (!stop) {
    void* p = malloc(64);
    sink = p;
    free(p);
  }
  return NULL;
}

__attribute__((noinline)) static void child_leak(void) {
  for (int i = 0; i < CHILD_LEAKS; ++i) sink = malloc(CHILD_LEAK_SIZE);
}

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, allocate_forever, NULL);
  pid_t child = fork();
  if (child == 0) {
    child_leak();
    printf("child %d\n", (int)getpid());
    exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  stop = 1;
  pthread_join(thread, NULL);
  printf("parent %d child %d status %d\n", (int)getpid(), (int)child, status);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
