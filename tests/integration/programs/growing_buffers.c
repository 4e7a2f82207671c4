/* Buffers grown by realloc in 64-byte steps, as a reader appends to a
   message (sampled mode books a buffer's steps in batches:
   preload/heap/growing_block.h). main grows `kept` to 1 MiB in grow_kept
   and stops at "grown" (a snapshot while its last steps may still wait for
   their batch). A thread then grows its own buffer to 1 MiB in grow_handed
   and hands it over while its last steps wait: main checks its bytes and
   malloc_usable_size, frees it, and lets the thread go on, which grows
   another buffer to 256 KiB in grow_other (its first booked step books the
   freed buffer's batch, which must not read it again) and keeps it. main
   then grows `kept` to 2 MiB, lets two threads grow one buffer in turns
   (Appender) and frees it, and stops at "done". Exits 1 if a byte is lost
   or a usable size is short of what was asked. */
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#include "step_protocol.h"

static sem_t handed, freed;
static char* handed_buffer;
static char* other;
static size_t handed_size;

static char Pattern(size_t k) { return (char)(k * 131 + (k >> 12)); }

/* Grows `p` from `from` to `to` bytes in 64-byte steps, writing each new
   tail; its caller is the site. */
static char* grow(char* p, size_t from, size_t to) {
  for (size_t size = from + 64; size <= to; size += 64) {
    p = realloc(p, size);
    if (p == NULL) exit(2);
    for (size_t k = size - 64; k < size; ++k) p[k] = Pattern(k);
  }
  return p;
}

static int Intact(const char* p, size_t size) {
  for (size_t k = 0; k < size; ++k)
    if (p[k] != Pattern(k)) return 0;
  return malloc_usable_size((void*)p) >= size;
}

__attribute__((noinline)) static char* grow_kept(char* p, size_t from, size_t to) {
  volatile int site = 1;  /* three bodies that differ: never folded into one */
  (void)site;
  p = grow(p, from, to);
  __asm__ volatile("" ::: "memory");  /* keep the frame: no tail call */
  return p;
}

__attribute__((noinline)) static char* grow_handed(char* p, size_t from, size_t to) {
  volatile int site = 2;  /* three bodies that differ: never folded into one */
  (void)site;
  p = grow(p, from, to);
  __asm__ volatile("" ::: "memory");
  return p;
}

__attribute__((noinline)) static char* grow_other(char* p, size_t from, size_t to) {
  volatile int site = 3;  /* three bodies that differ: never folded into one */
  (void)site;
  p = grow(p, from, to);
  __asm__ volatile("" ::: "memory");
  return p;
}

/* Two threads of one start routine (their stacks alike) growing one
   buffer under a lock, in turns of three 64-byte steps, and at every 100th
   turn shrinking it by 128 first: each sees the other's reallocs between
   its own, with its own steps waiting. malloc_usable_size must never say less than the
   size last asked, and no byte may be lost. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t shared_turn = PTHREAD_COND_INITIALIZER;
static char* shared;
static size_t shared_size;
static int turn, shared_failed;

__attribute__((noinline)) static char* append_shared(char* p, size_t size) {
  p = realloc(p, size);
  if (p == NULL) exit(2);
  return p;
}

static void* Appender(void* arg) {
  const int me = (int)(long)arg;
  for (int i = 0; i < 4096; ++i) {
    pthread_mutex_lock(&shared_lock);
    while (turn != me) pthread_cond_wait(&shared_turn, &shared_lock);
    /* The other thread's step came last, while this one's last step may
       wait in its batch: the other's size is the one to see. (Asked here
       only: asked after its own step, a thread books its batch at once.) */
    if (malloc_usable_size(shared) < shared_size) shared_failed = 1;
    /* Three steps a turn: the last two wait in this thread's batch. */
    for (int step = 0; step < 3; ++step) {
      const size_t size = (i % 100 == 99 && step == 0 && shared_size > 128) ? shared_size - 128 : shared_size + 64;
      shared = append_shared(shared, size);
      for (size_t k = shared_size < size ? shared_size : size; k < size; ++k) shared[k] = Pattern(k);
      shared_size = size;
    }
    for (size_t k = shared_size > 256 ? shared_size - 256 : 0; k < shared_size; ++k)
      if (shared[k] != Pattern(k)) shared_failed = 1;
    turn = 1 - me;
    pthread_cond_broadcast(&shared_turn);
    pthread_mutex_unlock(&shared_lock);
  }
  return NULL;
}

static int GrowShared(void) {
  shared_size = 40 << 10; /* past 32 KiB: each step continues the block's sampling */
  shared = malloc(shared_size);
  if (shared == NULL) return 0;
  for (size_t k = 0; k < shared_size; ++k) shared[k] = Pattern(k);
  pthread_t a, b;
  if (pthread_create(&a, NULL, Appender, (void*)0L) != 0 || pthread_create(&b, NULL, Appender, (void*)1L) != 0)
    return 0;
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  const int ok = !shared_failed && Intact(shared, shared_size);
  free(shared);
  return ok;
}

static void* Worker(void* arg) {
  /* 1 MiB less 64 bytes: the last steps lie inside a batch. */
  handed_size = (1 << 20) - 64;
  handed_buffer = grow_handed(NULL, 0, handed_size);
  sem_post(&handed);
  while (sem_wait(&freed) != 0) {
  }
  other = grow_other(NULL, 0, 256 << 10);
  return arg;
}

int main(void) {
  sem_init(&handed, 0, 0);
  sem_init(&freed, 0, 0);
  char* kept = grow_kept(NULL, 0, 1 << 20);
  if (!Intact(kept, 1 << 20)) return 1;
  checkpoint("grown");
  pthread_t worker;
  if (pthread_create(&worker, NULL, Worker, NULL) != 0) return 2;
  while (sem_wait(&handed) != 0) {
  }
  if (!Intact(handed_buffer, handed_size)) return 1;
  free(handed_buffer);
  sem_post(&freed);
  pthread_join(worker, NULL);
  if (!Intact(other, 256 << 10)) return 1;
  kept = grow_kept(kept, 1 << 20, 2 << 20);
  if (!Intact(kept, 2 << 20)) return 1;
  if (!GrowShared()) return 1;
  checkpoint("done");
  return 0;
}
