/* Forks CHILDREN times while four threads allocate from ever-changing call
   chains through 256 distinct functions, under exact mode: the threads keep
   missing every unwind cache, so at any moment some of them are inside
   libunwind and the loader's dl_iterate_phdr, holding their locks. Each child
   (a copy of that moment) allocates through the same functions, leaks
   child_leak()'s blocks and exits; the parent gives each child 10 s before
   it counts it as hung and kills it. Prints
   "children N hung H failed F unwinds U". Usage: fork_unwind CHILDREN */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static void* volatile sink;
static volatile unsigned long calls;

typedef void (*step_fn)(unsigned depth, unsigned seed);
static step_fn steps[256];

/* 256 functions, each a different frame size, each calling a pseudo-random
   next one: call chains (and return addresses) the caches have not seen. */
#define STEP(n)                                                          \
  __attribute__((noinline)) static void step_##n(unsigned depth, unsigned seed) { \
    volatile char pad[16 + 16 * (0x##n % 7)];                            \
    pad[0] = (char)seed;                                                 \
    if (depth == 0) {                                                    \
      void* p = malloc(24 + seed % 200);                                 \
      sink = p;                                                          \
      free(p);                                                           \
      return;                                                            \
    }                                                                    \
    steps[(seed + 0x##n) & 255](depth - 1, seed * 2654435761u + (unsigned)pad[0]); \
  }
#define STEP16(h) STEP(h##0) STEP(h##1) STEP(h##2) STEP(h##3) STEP(h##4) STEP(h##5) STEP(h##6) STEP(h##7) \
  STEP(h##8) STEP(h##9) STEP(h##a) STEP(h##b) STEP(h##c) STEP(h##d) STEP(h##e) STEP(h##f)
STEP16(0) STEP16(1) STEP16(2) STEP16(3) STEP16(4) STEP16(5) STEP16(6) STEP16(7)
STEP16(8) STEP16(9) STEP16(a) STEP16(b) STEP16(c) STEP16(d) STEP16(e) STEP16(f)

#define SET(n) steps[0x##n] = step_##n;
#define SET16(h) SET(h##0) SET(h##1) SET(h##2) SET(h##3) SET(h##4) SET(h##5) SET(h##6) SET(h##7) \
  SET(h##8) SET(h##9) SET(h##a) SET(h##b) SET(h##c) SET(h##d) SET(h##e) SET(h##f)

static void* churn(void* arg) {
  unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
  while (!stop) {
    seed = seed * 1103515245u + 12345u;
    steps[seed & 255](1 + (seed >> 8) % 12, seed >> 4);
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

__attribute__((noinline)) static void child_leak(void) {
  for (int i = 0; i < 3; ++i) sink = malloc(333);
}

int main(int argc, char** argv) {
  const int children = argc > 1 ? atoi(argv[1]) : 40;
  SET16(0) SET16(1) SET16(2) SET16(3) SET16(4) SET16(5) SET16(6) SET16(7)
  SET16(8) SET16(9) SET16(a) SET16(b) SET16(c) SET16(d) SET16(e) SET16(f)
  pthread_t threads[4];
  for (long i = 0; i < 4; ++i) pthread_create(&threads[i], NULL, churn, (void*)(i + 1));
  while (__atomic_load_n(&calls, __ATOMIC_RELAXED) < 1000) usleep(1000);  /* all four busy */
  int hung = 0, failed = 0;
  for (int c = 0; c < children; ++c) {
    const pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      for (unsigned i = 0; i < 200; ++i) steps[(i * 37) & 255](1 + i % 12, i * 7919u);
      child_leak();
      exit(0);
    }
    int status = 0, waited_ms = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (waited_ms >= 10000) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ++hung;
        break;
      }
      usleep(5000);
      waited_ms += 5;
    }
    if (waited_ms < 10000 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) ++failed;
  }
  stop = 1;
  for (int i = 0; i < 4; ++i) pthread_join(threads[i], NULL);
  printf("children %d hung %d failed %d\n", children, hung, failed);
  return hung == 0 && failed == 0 ? 0 : 1;
}
