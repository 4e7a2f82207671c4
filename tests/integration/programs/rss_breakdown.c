/* Where the RSS went (memory_test.cc): between its checkpoints "before" and
   "after" this program
   - leaks LEAK_MIB MiB of heap in 4 KiB blocks, written to (resident);
   - fragments the heap: allocates FRAG_MIB MiB in 1 KiB blocks, writes them,
     then frees 15 of every 16, so one live block sits in every 16 KiB and
     the allocator can give almost nothing back;
   - starts THREADS threads that block forever (their stacks stay).
   memory_test.cc computes the live heap growth from the same constants. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "step_protocol.h"

#define LEAK_MIB 40
#define FRAG_MIB 256
#define FRAG_BLOCK 1024
#define KEEP_EVERY 16
#define THREADS 16

static void* volatile g_sink;

__attribute__((noinline)) static void** leak_heap_here(size_t* live) {
  const size_t blocks = (size_t)LEAK_MIB * 1024 * 1024 / 4096;
  void** list = malloc(blocks * sizeof(void*));
  for (size_t i = 0; i < blocks; ++i) {
    list[i] = malloc(4096);
    memset(list[i], (int)i, 4096);
  }
  *live += blocks * 4096 + blocks * sizeof(void*);
  return list;
}

__attribute__((noinline)) static void** fragment_heap_here(size_t* live) {
  const size_t blocks = (size_t)FRAG_MIB * 1024 * 1024 / FRAG_BLOCK;
  void** list = malloc(blocks * sizeof(void*));
  for (size_t i = 0; i < blocks; ++i) {
    list[i] = malloc(FRAG_BLOCK);
    memset(list[i], (int)i, FRAG_BLOCK);
  }
  size_t kept = 0;
  for (size_t i = 0; i < blocks; ++i) {
    if (i % KEEP_EVERY == 0) {
      ++kept;
      continue;
    }
    free(list[i]);
    list[i] = NULL;
  }
  *live += kept * FRAG_BLOCK + blocks * sizeof(void*);
  return list;
}

static void* block_forever(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

/* The thread-pool leak: THREADS threads that never return. */
__attribute__((noinline)) static int start_blocked_threads(void) {
  for (int i = 0; i < THREADS; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, block_forever, NULL) != 0) return -1;
    pthread_detach(t);
  }
  return 0;
}

int main(void) {
  checkpoint("before");
  size_t live = 0; /* the live heap growth, as memory_test.cc computes it */
  g_sink = leak_heap_here(&live);
  g_sink = fragment_heap_here(&live);
  if (start_blocked_threads() != 0) return 1;
  usleep(100 * 1000); /* let every thread reach pause() */
  checkpoint("after");
  return 0;
}
