/* calloc_big's first calls, timed one by one: calloc_calls COUNT [thread].
   COUNT x calloc(1, 256 MiB), one page touched each, kept, then all freed;
   prints the first call, the rest together, and the frees, in microseconds
   ("first_us F rest_us R free_us X"). With "thread", a thread that only
   waits is started first (and given a millisecond to be waiting): what a
   process pays for having a second thread at all, as leaktrace's dumper
   thread is once it runs (the kernel frees a multithreaded process's page tables by
   RCU, so each munmap of a big block costs more). */
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <unistd.h>

#include "pattern.h"

static sem_t never;

static void* wait_forever(void* arg) {
  sem_wait(&never);
  return arg;
}

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 8);
  if (count < 1 || count > 64) {
    fprintf(stderr, "calloc_calls: COUNT must be 1 to 64\n");
    return 2;
  }
  if (argc > 2 && strcmp(argv[2], "thread") == 0) {
    pthread_t t;
    sem_init(&never, 0, 0);
    if (pthread_create(&t, NULL, wait_forever, NULL) != 0) pattern_die("pthread_create");
    usleep(1000);
  }
  char* blocks[64];
  double at[65];
  at[0] = pattern_now();
  for (long i = 0; i < count; ++i) {
    blocks[i] = calloc(1, (size_t)256 << 20);
    if (!blocks[i]) pattern_die("calloc");
    blocks[i][i * 4096] = 1;
    at[i + 1] = pattern_now();
  }
  const double free_start = pattern_now();
  for (long i = 0; i < count; ++i) free(blocks[i]);
  const double free_end = pattern_now();
  printf("first_us %.1f rest_us %.1f free_us %.1f\n", (at[1] - at[0]) * 1e6, (at[count] - at[1]) * 1e6,
         (free_end - free_start) * 1e6);
  return 0;
}
