/* Four threads allocating and freeing as fast as they can for SECONDS
   seconds, for the snapshot-storm test. Prints "running" once they are. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static void* volatile sink;

static void* churn(void* arg) {
  unsigned n = (unsigned)(size_t)arg;
  void* keep[64] = {0};
  while (!stop) {
    unsigned slot = n % 64;
    free(keep[slot]);
    keep[slot] = malloc(16 + (n * 7919u) % 4000);
    sink = keep[slot];
    ++n;
  }
  for (int i = 0; i < 64; ++i) free(keep[i]);
  return NULL;
}

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? atoi(argv[1]) : 2;
  pthread_t threads[4];
  for (int i = 0; i < 4; ++i) pthread_create(&threads[i], NULL, churn, (void*)(size_t)(i * 1000));
  printf("running\n");
  fflush(stdout);
  /* A process-directed signal may land on this thread and cut a sleep
     short (EINTR), as any handled signal would: sleep until the clock says. */
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    usleep(10000);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - start.tv_sec < seconds);
  stop = 1;
  for (int i = 0; i < 4; ++i) pthread_join(threads[i], NULL);
  return 0;
}
