/* Four threads, each allocating and freeing blocks of 1-8 MiB: under
   jemalloc every such block is an extent jemalloc maps while it holds a
   lock of its own. Prints "ok SUM" and exits 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void* Worker(void* arg) {
  long sum = 0;
  for (int i = 0; i < 64; ++i) {
    const size_t size = ((size_t)1 << 20) * (size_t)(1 + (i + (long)arg) % 8);
    char* p = malloc(size);
    if (p == NULL) return NULL;
    p[0] = 1;
    p[size - 1] = 2;
    sum += p[0] + p[size - 1];
    free(p);
  }
  return (void*)sum;
}

int main(void) {
  pthread_t threads[4];
  long total = 0;
  for (long i = 0; i < 4; ++i)
    if (pthread_create(&threads[i], NULL, Worker, (void*)i) != 0) return 1;
  for (int i = 0; i < 4; ++i) {
    void* sum;
    pthread_join(threads[i], &sum);
    total += (long)sum;
  }
  printf("ok %ld\n", total);
  return 0;
}
