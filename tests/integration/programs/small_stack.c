/* Code busy on a small stack when a snapshot arrives before leaktrace's
   dumper thread has started, so that the snapshot signal's handler writes
   the dump on the thread it interrupted (dumper_start_test.cc):
     small_stack thread      a thread made with a 16 KiB stack spins for 1 s
                             while main waits in pthread_join
     small_stack coroutine   main runs a coroutine on a 16 KiB stack it
                             allocated, 64 KiB of canary bytes below it, and
                             spins there for 1 s; exit 1 when a canary byte
                             changed
   Each prints "ready" once the spin has begun. Nothing is allocated while
   spinning.
     small_stack exit        a thread made with a 16 KiB stack calls exit(0)
                             while main waits in pthread_join (the exit dump
                             is written on that thread: lifecycle_test.cc)
     small_stack main        main returns 0 at once (run it under
                             `ulimit -s 32`) */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

enum { kSmallStack = 16 * 1024, kCanaryBytes = 64 * 1024, kCanary = 0xAB };

static atomic_int spinning;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void spin(void) {
  atomic_store(&spinning, 1);
  const double until = now() + 1.0;
  volatile unsigned long count = 0;
  while (now() < until) ++count;
}

static void* spin_thread(void* arg) {
  (void)arg;
  spin();
  return NULL;
}

/* Starts fn on a thread with a kSmallStack stack; 0, or 2 when a call fails. */
static int start_small_thread(void* (*fn)(void*), pthread_t* thread) {
  long stack = kSmallStack;
  if (stack < PTHREAD_STACK_MIN) stack = PTHREAD_STACK_MIN;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (pthread_attr_setstacksize(&attr, (size_t)stack) != 0) return 2;
  return pthread_create(thread, &attr, fn, NULL) == 0 ? 0 : 2;
}

static int on_a_thread(void) {
  pthread_t thread;
  if (start_small_thread(spin_thread, &thread) != 0) return 2;
  while (!atomic_load(&spinning)) {
  }
  printf("ready\n");
  fflush(stdout);
  return pthread_join(thread, NULL) == 0 ? 0 : 2;
}

static void* exit_thread(void* arg) {
  (void)arg;
  printf("exiting\n");
  fflush(stdout);
  exit(0);
}

static int exit_on_a_thread(void) {
  pthread_t thread;
  if (start_small_thread(exit_thread, &thread) != 0) return 2;
  pthread_join(thread, NULL);
  return 2;  /* not reached: the thread's exit ends the process */
}

static ucontext_t main_context, coroutine;

static void coroutine_body(void) {
  printf("ready\n");
  fflush(stdout);
  spin();
}

static int on_a_coroutine(void) {
  unsigned char* block = malloc(kCanaryBytes + kSmallStack);
  if (block == NULL) return 2;
  memset(block, kCanary, kCanaryBytes);
  if (getcontext(&coroutine) != 0) return 2;
  coroutine.uc_stack.ss_sp = block + kCanaryBytes;
  coroutine.uc_stack.ss_size = kSmallStack;
  coroutine.uc_link = &main_context;
  makecontext(&coroutine, coroutine_body, 0);
  if (swapcontext(&main_context, &coroutine) != 0) return 2;
  for (int i = 0; i < kCanaryBytes; ++i)
    if (block[i] != kCanary) {
      fprintf(stderr, "small_stack: memory %d bytes below the coroutine's stack overwritten\n", kCanaryBytes - i);
      return 1;
    }
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "thread") == 0) return on_a_thread();
  if (argc == 2 && strcmp(argv[1], "coroutine") == 0) return on_a_coroutine();
  if (argc == 2 && strcmp(argv[1], "exit") == 0) return exit_on_a_thread();
  if (argc == 2 && strcmp(argv[1], "main") == 0) return 0;
  fprintf(stderr, "usage: small_stack thread|coroutine|exit|main\n");
  return 2;
}
