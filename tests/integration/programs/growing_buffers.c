/* Buffers grown by realloc in 64-byte steps, as a reader appends to a
   message (sampled mode books a buffer's steps in batches:
   preload/heap/growing_block.h). main grows `kept` to 1 MiB in grow_kept
   and stops at "grown" (a snapshot while its last steps may still wait for
   their batch). A thread then grows its own buffer to 1 MiB in grow_handed
   and hands it over while its last steps wait: main checks its bytes and
   malloc_usable_size, frees it, and lets the thread go on, which grows
   another buffer to 256 KiB in grow_other (its first booked step books the
   freed buffer's batch, which must not read it again) and keeps it. main
   then grows `kept` to 2 MiB and stops at "done". Exits 1 if a byte is lost
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
  checkpoint("done");
  return 0;
}
