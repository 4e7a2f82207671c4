/* A program started without leaktrace, to be attached to while it waits at
   its first checkpoint (blocked in read on stdin: a safe point). Before the
   attach it allocates blocks and opens descriptors; after it, it leaks
   64 MiB in 4 KiB blocks (leak_blocks) and 200 descriptors (leak_fds),
   churns, frees and reallocs the blocks from before the attach, and closes
   some descriptors from before it. Its output depends only on its own data,
   so a run with the attach must print exactly what a run without it does.
   Three threads churn the heap from start to end, across the attach (so
   some are inside malloc or free while the imports are rewritten), checking
   that every block keeps what they wrote.
   Checkpoints: "ready" (attach here), "before", "after" (snapshots). */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "step_protocol.h"

#define OLD_BLOCKS 4000
#define OLD_FDS 20
#define LEAK_BLOCKS (64 * 256) /* 64 MiB in 4 KiB blocks */
#define LEAK_FDS 200

static char* old_blocks[OLD_BLOCKS];
static size_t old_sizes[OLD_BLOCKS];
static int old_fds[OLD_FDS];
static void* volatile leaked_blocks[LEAK_BLOCKS];
static volatile int leaked_fds[LEAK_FDS];

static uint64_t rng = 88172645463325252ull;
static uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void fill(char* p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; ++i) p[i] = (char)(seed * 31u + i * 7u);
}

static uint64_t checksum(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
  return h;
}

__attribute__((noinline)) void allocate_old(void) {
  for (int i = 0; i < OLD_BLOCKS; ++i) {
    /* Sizes across glibc's bins, a few mmapped ones among them. */
    old_sizes[i] = (i % 97 == 0) ? 200000 + (size_t)i : 8 + next_random() % 6000;
    old_blocks[i] = malloc(old_sizes[i]);
    fill(old_blocks[i], old_sizes[i], (unsigned)i);
  }
  for (int i = 0; i < OLD_FDS; ++i) old_fds[i] = open("/dev/null", O_RDONLY);
}

__attribute__((noinline)) void leak_blocks(void) {
  for (int i = 0; i < LEAK_BLOCKS; ++i) {
    char* p = malloc(4096);
    p[0] = (char)i;
    leaked_blocks[i] = p;
  }
}

__attribute__((noinline)) void leak_fds(void) {
  for (int i = 0; i < LEAK_FDS; ++i) leaked_fds[i] = open("/dev/null", O_RDONLY);
}

/* Allocations that all go away again, through every entry point. */
__attribute__((noinline)) uint64_t churn(void) {
  uint64_t sum = 0;
  for (int round = 0; round < 20000; ++round) {
    size_t n = 1 + next_random() % 20000;
    char* p = (round % 3 == 0) ? calloc(1, n) : malloc(n);
    fill(p, n, (unsigned)round);
    p = realloc(p, n * 2);
    sum += checksum(p, n) + (malloc_usable_size(p) >= n * 2);
    free(p);
    void* a = NULL;
    if (posix_memalign(&a, 64, 256) == 0) free(a);
    char* s = strdup("churned string");
    sum += strlen(s);
    free(s);
  }
  return sum;
}

/* Blocks from before the attach: their contents intact, usable sizes sane,
   freed or resized by the real allocator. */
__attribute__((noinline)) uint64_t rework_old(void) {
  uint64_t sum = 0;
  for (int i = 0; i < OLD_BLOCKS; ++i) {
    sum += checksum(old_blocks[i], old_sizes[i]);
    if (malloc_usable_size(old_blocks[i]) < old_sizes[i]) {
      printf("usable size of an old block shrank\n");
      exit(4);
    }
    if (i % 2 == 0) {
      free(old_blocks[i]);
      old_blocks[i] = NULL;
    } else {
      const size_t grown = old_sizes[i] * 3 + 100;
      old_blocks[i] = realloc(old_blocks[i], grown);
      fill(old_blocks[i] + old_sizes[i], grown - old_sizes[i], (unsigned)i + 1);
      old_sizes[i] = grown;
    }
  }
  for (int i = 0; i < OLD_FDS / 2; ++i) close(old_fds[i]);
  return sum;
}

#define CHURN_THREADS 3
#define RING 64
static volatile int stop_threads;
static long thread_errors[CHURN_THREADS];

static void* churn_thread(void* arg) {
  const long id = (long)arg;
  char* ring[RING] = {0};
  size_t sizes[RING] = {0};
  uint64_t state = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
  for (unsigned long round = 0; !stop_threads; ++round) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    const int slot = (int)(state % RING);
    if (ring[slot]) {
      for (size_t i = 0; i < sizes[slot]; ++i)
        if (ring[slot][i] != (char)(slot + i)) {
          ++thread_errors[id];
          break;
        }
    }
    const size_t n = 1 + (state >> 20) % 9000;
    if (ring[slot] && (round & 1)) {
      ring[slot] = realloc(ring[slot], n);
    } else {
      free(ring[slot]);
      ring[slot] = malloc(n);
    }
    sizes[slot] = n;
    for (size_t i = 0; i < n; ++i) ring[slot][i] = (char)(slot + i);
  }
  for (int i = 0; i < RING; ++i) free(ring[i]);
  return NULL;
}

int main(void) {
  pthread_t threads[CHURN_THREADS];
  for (long i = 0; i < CHURN_THREADS; ++i) pthread_create(&threads[i], NULL, churn_thread, (void*)i);
  allocate_old();
  checkpoint("ready");
  checkpoint("before");
  leak_blocks();
  leak_fds();
  const uint64_t churned = churn();
  const uint64_t old = rework_old();
  checkpoint("after");
  stop_threads = 1;
  long errors = 0;
  for (int i = 0; i < CHURN_THREADS; ++i) {
    pthread_join(threads[i], NULL);
    errors += thread_errors[i];
  }
  printf("thread errors %ld\n", errors);
  uint64_t final = 0;
  for (int i = 0; i < OLD_BLOCKS; ++i)
    if (old_blocks[i]) final += checksum(old_blocks[i], old_sizes[i]);
  printf("churn %llu\nold %llu\nfinal %llu\n", (unsigned long long)churned, (unsigned long long)old,
         (unsigned long long)final);
  for (int i = 0; i < OLD_BLOCKS; ++i) free(old_blocks[i]);
  for (int i = 0; i < LEAK_BLOCKS; ++i) free(leaked_blocks[i]);
  for (int i = 0; i < LEAK_FDS; ++i) close(leaked_fds[i]);
  for (int i = OLD_FDS / 2; i < OLD_FDS; ++i) close(old_fds[i]);
  return 0;
}
