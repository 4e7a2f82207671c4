/* The cost of the thread hooks: creates and joins N threads (argv[1],
   default 5000) that return at once, one at a time, and prints the mean
   nanoseconds per create+join. Wall time on a shared machine is noisy:
   compare instruction counts instead (docs/benchmarks.md, "Threads"). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void* ReturnAtOnce(void* arg) { return arg; }

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 5000;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, ReturnAtOnce, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.0f ns per create+join\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
