/* Thousands of short-lived threads. Each leaks one block from
   thread_leak(), churns, and leaves a block to a pthread key destructor that
   the program registered after leaktrace's own: it is freed after
   leaktrace's per-thread state is gone. Usage: thread_storm THREADS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "step_protocol.h"

#define LEAK_SIZE 72
#define BATCH 50

static pthread_key_t late_key;
static void* volatile* leaks;
static int next_leak;
static pthread_mutex_t leak_lock = PTHREAD_MUTEX_INITIALIZER;

static void free_late(void* p) { free(p); }

__attribute__((noinline)) static void thread_leak(void) {
  void* p = malloc(LEAK_SIZE);
  pthread_mutex_lock(&leak_lock);
  leaks[next_leak++] = p;
  pthread_mutex_unlock(&leak_lock);
}

__attribute__((noinline)) static void tls_block(void) { pthread_setspecific(late_key, malloc(200)); }

static void* worker(void* arg) {
  (void)arg;
  thread_leak();
  tls_block();
  for (int i = 0; i < 50; ++i) free(malloc(16 + i * 8));
  return NULL;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2000;
  leaks = calloc((size_t)threads, sizeof(void*));
  free(malloc(1)); /* leaktrace creates its key at the first allocation */
  pthread_key_create(&late_key, free_late);
  checkpoint("before");
  for (int done = 0; done < threads; done += BATCH) {
    pthread_t t[BATCH];
    int n = threads - done < BATCH ? threads - done : BATCH;
    for (int i = 0; i < n; ++i)
      if (pthread_create(&t[i], NULL, worker, NULL) != 0) return 1;
    for (int i = 0; i < n; ++i) pthread_join(t[i], NULL);
  }
  checkpoint("after");
  return next_leak == threads ? 0 : 1;
}
