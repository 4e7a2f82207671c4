/* The exit dump's thread figures (memory_test.cc): starts argv[1] threads
   that block forever, waits until each is blocked, and returns from main,
   so the exit dump sees the program's argv[1] + 1 threads (and leaktrace's
   dumper thread, which is not the program's). */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <unistd.h>

static sem_t started;

static void* block_forever(void* arg) {
  (void)arg;
  sem_post(&started);
  for (;;) pause();
  return NULL;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 0;
  sem_init(&started, 0, 0);
  for (int i = 0; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, block_forever, NULL) != 0) return 1;
    pthread_detach(t);
  }
  for (int i = 0; i < threads; ++i) sem_wait(&started);
  usleep(20 * 1000);  /* past sem_post, into pause: a blocked thread shows its stack pointer */
  return 0;
}
