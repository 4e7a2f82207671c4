/* A C program for the exact-mode heap test. Between checkpoints "before"
   and "after" it leaks a known number of blocks of known sizes from four
   functions, one per allocation entry point, while balanced churn (some of it
   freed on another thread) runs beside. The test reads the numbers back from
   `leaktrace diff`. Keep the constants in step with heap_exact_test.cc. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "step_protocol.h"

#define MALLOC_LEAKS 100
#define MALLOC_SIZE 48
#define CALLOC_LEAKS 25
#define CALLOC_COUNT 10
#define CALLOC_SIZE 8
#define REALLOC_LEAKS 20
#define REALLOC_SIZE 200
#define MEMALIGN_LEAKS 10
#define MEMALIGN_SIZE 256
#define MEMALIGN_ALIGNMENT 64

static void* volatile leaked[1024];
static int leaked_count;

static void keep(void* p) { leaked[leaked_count++] = p; }

__attribute__((noinline)) void leak_with_malloc(void) {
  for (int i = 0; i < MALLOC_LEAKS; ++i) keep(malloc(MALLOC_SIZE));
}

__attribute__((noinline)) void leak_with_calloc(void) {
  for (int i = 0; i < CALLOC_LEAKS; ++i) keep(calloc(CALLOC_COUNT, CALLOC_SIZE));
}

__attribute__((noinline)) void leak_with_realloc(void) {
  for (int i = 0; i < REALLOC_LEAKS; ++i) {
    char* p = malloc(16);
    memset(p, 'x', 16);
    p = realloc(p, REALLOC_SIZE);  /* the 16-byte block is gone; this one leaks */
    if (p[15] != 'x') abort();
    keep(p);
  }
}

__attribute__((noinline)) void leak_with_posix_memalign(void) {
  for (int i = 0; i < MEMALIGN_LEAKS; ++i) {
    void* p = NULL;
    if (posix_memalign(&p, MEMALIGN_ALIGNMENT, MEMALIGN_SIZE) != 0) abort();
    if ((uintptr_t)p % MEMALIGN_ALIGNMENT != 0) abort();
    keep(p);
  }
}

/* Balanced: everything allocated here is freed before "after". */
#define HANDOFF 512
static void* handoff[HANDOFF];

static void* free_handoff(void* arg) {
  (void)arg;
  for (int i = 0; i < HANDOFF; ++i) free(handoff[i]);
  return NULL;
}

__attribute__((noinline)) void churn_balanced(void) {
  for (int round = 0; round < 20000; ++round) {
    size_t size = 16 + (size_t)(round % 97) * 11;
    char* a = malloc(size);
    char* b = calloc(3, size);
    a = realloc(a, size * 2);
    void* c = NULL;
    if (posix_memalign(&c, 32, size) != 0) abort();
    void* d = aligned_alloc(128, 256);
    void* e = memalign(64, size);
    void* f = reallocarray(NULL, 4, size);
    if (malloc_usable_size(a) < size * 2) abort();
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
  }
  for (int i = 0; i < HANDOFF; ++i) handoff[i] = malloc(24 + (size_t)i);
  pthread_t thread;
  pthread_create(&thread, NULL, free_handoff, NULL);
  pthread_join(thread, NULL);
}

int main(void) {
  churn_balanced(); /* warm up: first-use allocations of libc happen here */
  checkpoint("before");
  leak_with_malloc();
  churn_balanced();
  leak_with_calloc();
  leak_with_realloc();
  leak_with_posix_memalign();
  churn_balanced();
  checkpoint("after");
  return leaked_count == MALLOC_LEAKS + CALLOC_LEAKS + REALLOC_LEAKS + MEMALIGN_LEAKS ? 0 : 1;
}
