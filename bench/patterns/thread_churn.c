/* Many short-lived threads, created and joined one after another, each
   allocating a little (a worker pool that does not pool):
   thread_churn COUNT. A tracker that sets up per-thread state pays it at
   every thread. */
#include <pthread.h>

#include "pattern.h"

static void* work(void* arg) {
  void* p = malloc(128);
  pattern_sink = p;
  free(p);
  return arg;
}

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 10000);
  const double start = pattern_now();
  for (long i = 0; i < count; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, work, NULL) != 0) pattern_die("pthread_create");
    pthread_join(t, NULL);
  }
  pattern_report(start);
  return 0;
}
