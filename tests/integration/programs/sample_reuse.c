/* Small blocks made, checked and freed on several threads at once, some
   handed to another thread to free: under leaktrace nearly every one is a
   sampled block (LEAKTRACE_SAMPLE=64), and later samples are carved from
   the real blocks of earlier ones (preload/heap/spare_block.h). Every block
   is filled to its malloc_usable_size with a byte of its own and checked
   before it is freed (two live blocks sharing memory would overwrite each
   other); calloc's blocks must be zero to their usable size; aligned blocks
   aligned; a realloc keeps the bytes. At the end each thread keeps KEEP
   blocks of 3,000 bytes from keep_blocks() alive (a leak to report).
   Exits 0 when every check held, 1 with a line on stderr otherwise. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kThreads = 4, kSlots = 24, kIterations = 20000, kKeep = 50 };

struct Block {
  unsigned char* p;
  size_t usable;
  unsigned char fill;
};

static unsigned char* volatile g_handoff[kThreads];  /* one block in flight to each thread */
static size_t g_handoff_usable[kThreads];
static volatile int g_failed;

static void Fail(const char* what, size_t size) {
  fprintf(stderr, "sample_reuse: %s (size %zu)\n", what, size);
  g_failed = 1;
}

static uint64_t Next(uint64_t* rng) {
  *rng ^= *rng << 13;
  *rng ^= *rng >> 7;
  *rng ^= *rng << 17;
  return *rng;
}

static void Fill(struct Block* b, unsigned char fill) {
  b->usable = malloc_usable_size(b->p);
  b->fill = fill;
  memset(b->p, fill, b->usable);
}

static void CheckAndFree(struct Block* b) {
  if (b->p == NULL) return;
  for (size_t i = 0; i < b->usable; ++i)
    if (b->p[i] != b->fill) {
      Fail("a live block's bytes changed", b->usable);
      break;
    }
  free(b->p);
  b->p = NULL;
}

__attribute__((noinline)) static void keep_blocks(void** kept) {
  for (int i = 0; i < kKeep; ++i) {
    kept[i] = malloc(3000);
    if (kept[i] != NULL) memset(kept[i], 0x5a, 3000);
  }
}

static void* Worker(void* arg) {
  const int self = (int)(intptr_t)arg;
  uint64_t rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(self + 1);
  struct Block slots[kSlots] = {{0}};
  for (int i = 0; i < kIterations && !g_failed; ++i) {
    struct Block* b = &slots[Next(&rng) % kSlots];
    CheckAndFree(b);
    const size_t size = 16 + Next(&rng) % 12000;
    const unsigned char fill = (unsigned char)(i | 1);
    switch (Next(&rng) % 5) {
      case 0: {
        b->p = calloc(1, size);
        if (b->p == NULL) return NULL;
        const size_t usable = malloc_usable_size(b->p);
        for (size_t k = 0; k < usable; ++k)
          if (b->p[k] != 0) {
            Fail("calloc gave a block that is not zero", size);
            break;
          }
        break;
      }
      case 1: {
        void* p = NULL;
        if (posix_memalign(&p, 64, size) != 0) return NULL;
        if ((uintptr_t)p % 64 != 0) Fail("posix_memalign(64) gave a misaligned block", size);
        b->p = p;
        break;
      }
      case 2: {
        /* Grown or shrunk by realloc: the bytes it keeps must be the old ones. */
        b->p = malloc(size);
        if (b->p == NULL) return NULL;
        Fill(b, fill);
        const size_t kept = b->usable;
        const size_t to = 16 + Next(&rng) % 12000;
        unsigned char* q = realloc(b->p, to);
        if (q == NULL) return NULL;
        for (size_t k = 0; k < (kept < to ? kept : to); ++k)
          if (q[k] != fill) {
            Fail("realloc lost a byte", to);
            break;
          }
        b->p = q;
        break;
      }
      case 3: {
        /* Handed to the next thread, which frees it after checking it. */
        unsigned char* p = malloc(size);
        if (p == NULL) return NULL;
        const size_t usable = malloc_usable_size(p);
        memset(p, 0xee, usable);
        const int to = (self + 1) % kThreads;
        if (__atomic_load_n(&g_handoff[to], __ATOMIC_ACQUIRE) == NULL) {
          g_handoff_usable[to] = usable;
          __atomic_store_n(&g_handoff[to], p, __ATOMIC_RELEASE);
        } else {
          free(p);
        }
        b->p = NULL;
        continue;
      }
      default:
        b->p = malloc(size);
        if (b->p == NULL) return NULL;
        break;
    }
    Fill(b, fill);
    unsigned char* mine = __atomic_load_n(&g_handoff[self], __ATOMIC_ACQUIRE);
    if (mine != NULL) {
      const size_t usable = g_handoff_usable[self];
      for (size_t k = 0; k < usable; ++k)
        if (mine[k] != 0xee) {
          Fail("a block handed over changed", usable);
          break;
        }
      __atomic_store_n(&g_handoff[self], NULL, __ATOMIC_RELEASE);
      free(mine);
    }
  }
  for (int k = 0; k < kSlots; ++k) CheckAndFree(&slots[k]);
  void** kept = malloc(sizeof(void*) * kKeep);
  if (kept != NULL) keep_blocks(kept);
  return kept;
}

int main(void) {
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; ++i)
    if (pthread_create(&threads[i], NULL, Worker, (void*)(intptr_t)i) != 0) return 2;
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  for (int i = 0; i < kThreads; ++i) free(g_handoff[i]);
  if (g_failed) return 1;
  printf("ok\n");
  return 0;
}
