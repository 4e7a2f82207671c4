/* Many threads alive at once, each having allocated (a thread-per-connection
   server): live_threads COUNT. Peak RSS against the plain run is the
   tracker's per-thread memory, resident. Every thread allocates, then all
   wait on a barrier until the last has, then exit. */
#include <pthread.h>

#include "pattern.h"

static pthread_barrier_t all_allocated;

static void* work(void* arg) {
  void* small = malloc(64);
  void* page = malloc(4096);
  pattern_sink = small;
  pattern_sink = page;
  pthread_barrier_wait(&all_allocated);
  free(page);
  free(small);
  return arg;
}

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 1000);
  pthread_t* threads = calloc((size_t)count, sizeof *threads);
  if (!threads) pattern_die("calloc");
  pthread_barrier_init(&all_allocated, NULL, (unsigned)count + 1);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 << 10); /* 1,000 default stacks would be 8 GiB of address space */
  const double start = pattern_now();
  for (long i = 0; i < count; ++i)
    if (pthread_create(&threads[i], &attr, work, NULL) != 0) pattern_die("pthread_create");
  pthread_barrier_wait(&all_allocated);
  for (long i = 0; i < count; ++i) pthread_join(threads[i], NULL);
  pattern_report(start);
  free(threads);
  return 0;
}
