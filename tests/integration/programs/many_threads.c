/* THREADS threads alive at once (a thread-per-connection server), each
   having allocated, then joined: memory_test.cc checks that leaktrace's own
   part of the RSS, one shard and unwind cache per thread, is not counted
   for more than is resident. Usage: many_threads THREADS */
#include <pthread.h>
#include <stdlib.h>

static pthread_barrier_t all_allocated;
static void* volatile sink;

static void* work(void* arg) {
  void* small = malloc(64);
  void* page = malloc(4096);
  sink = small;
  sink = page;
  pthread_barrier_wait(&all_allocated);
  free(page);
  free(small);
  return arg;
}

int main(int argc, char** argv) {
  const int count = argc > 1 ? atoi(argv[1]) : 500;
  pthread_t* threads = calloc((size_t)count, sizeof *threads);
  if (threads == NULL) return 2;
  pthread_barrier_init(&all_allocated, NULL, (unsigned)count + 1);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 << 10);
  for (int i = 0; i < count; ++i)
    if (pthread_create(&threads[i], &attr, work, NULL) != 0) return 2;
  pthread_barrier_wait(&all_allocated);
  for (int i = 0; i < count; ++i) pthread_join(threads[i], NULL);
  free(threads);
  return 0;
}
