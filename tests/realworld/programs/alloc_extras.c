// Exercises the malloc family and glibc's malloc extras, prints only what
// must be the same under every allocator (glibc, jemalloc, tcmalloc) with or
// without libleaktrace.so, and leaks LEAK_BLOCKS blocks of LEAK_SIZE bytes
// from leak_blocks_here() for the report to find.
//
// Exit 0 when every check passed; on a failed check, prints FAIL and exits 1.
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEAK_BLOCKS 7
#define LEAK_SIZE 1000

static int failures;

#define CHECK(cond, ...)                          \
  do {                                            \
    if (!(cond)) {                                \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                        \
      printf("\n");                               \
      failures++;                                 \
    }                                             \
  } while (0)

static void *volatile leaked[LEAK_BLOCKS];

__attribute__((noinline)) void leak_blocks_here(void) {
  for (int i = 0; i < LEAK_BLOCKS; i++) {
    leaked[i] = malloc(LEAK_SIZE);
    memset(leaked[i], 0x5a, LEAK_SIZE);
  }
}

static void check_usable(void *p, size_t requested, const char *what) {
  CHECK(p != NULL, "%s(%zu) returned NULL", what, requested);
  if (!p) return;
  size_t usable = malloc_usable_size(p);
  CHECK(usable >= requested, "%s(%zu): malloc_usable_size %zu < requested", what, requested, usable);
  // All of the usable size is ours to write.
  memset(p, 0xab, usable);
}

static int aligned(void *p, size_t alignment) { return ((uintptr_t)p % alignment) == 0; }

static void basic(void) {
  static const size_t sizes[] = {0, 1, 7, 16, 24, 100, 1000, 4096, 65536, 200000, 5u << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void *p = malloc(sizes[i]);
    check_usable(p, sizes[i], "malloc");
    free(p);
    unsigned char *c = calloc(sizes[i] + 1, 3);
    check_usable(c, 3 * (sizes[i] + 1), "calloc");
    free(c);
    c = calloc(sizes[i] + 1, 3);
    if (c) {
      size_t zero = 1;
      for (size_t j = 0; j < 3 * (sizes[i] + 1); j++) zero &= c[j] == 0;
      CHECK(zero, "calloc(%zu, 3) memory is not zeroed", sizes[i] + 1);
    }
    free(c);
  }
  printf("malloc/calloc ok\n");

  // realloc keeps content while growing and shrinking, including across
  // size classes and into mmap-sized blocks.
  size_t size = 8;
  unsigned char *r = malloc(size);
  for (size_t j = 0; j < size; j++) r[j] = (unsigned char)j;
  while (size < (8u << 20)) {
    size_t next = size * 3;
    r = realloc(r, next);
    CHECK(r != NULL, "realloc to %zu failed", next);
    for (size_t j = 0; j < size; j++) CHECK(r[j] == (unsigned char)j, "realloc to %zu lost byte %zu", next, j);
    for (size_t j = size; j < next; j++) r[j] = (unsigned char)j;
    check_usable(r, next, "realloc");
    for (size_t j = 0; j < next; j++) r[j] = (unsigned char)j;
    size = next;
  }
  r = realloc(r, 100);
  for (size_t j = 0; j < 100; j++) CHECK(r[j] == (unsigned char)j, "realloc shrink lost byte %zu", j);
  free(r);
  void *n = realloc(NULL, 50);  // realloc(NULL) is malloc
  check_usable(n, 50, "realloc(NULL)");
  free(n);
  free(NULL);
  printf("realloc ok\n");

  // Impossible requests fail cleanly. (errno is not compared: tcmalloc's
  // calloc returns NULL on overflow without setting ENOMEM.)
  volatile size_t half = SIZE_MAX / 2;
  void *huge = calloc(half, 4);
  CHECK(huge == NULL, "calloc overflow: %p", huge);
  huge = reallocarray(NULL, half, 4);
  CHECK(huge == NULL, "reallocarray overflow: %p", huge);
  printf("overflow ok\n");
}

static void alignment(void) {
  static const size_t aligns[] = {8, 16, 32, 64, 128, 256, 4096, 65536};
  for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
    void *p = NULL;
    int rc = posix_memalign(&p, aligns[i], 3000);
    CHECK(rc == 0 && aligned(p, aligns[i]), "posix_memalign(%zu): rc %d, %p", aligns[i], rc, p);
    check_usable(p, 3000, "posix_memalign");
    free(p);
    p = aligned_alloc(aligns[i], aligns[i] * 4);
    CHECK(p && aligned(p, aligns[i]), "aligned_alloc(%zu): %p", aligns[i], p);
    check_usable(p, aligns[i] * 4, "aligned_alloc");
    free(p);
    p = memalign(aligns[i], 123);
    CHECK(p && aligned(p, aligns[i]), "memalign(%zu): %p", aligns[i], p);
    check_usable(p, 123, "memalign");
    p = realloc(p, 100000);  // a realloc of an aligned block
    check_usable(p, 100000, "realloc(memalign)");
    free(p);
  }
  long page = sysconf(_SC_PAGESIZE);
  void *v = valloc(10);
  CHECK(v && aligned(v, (size_t)page), "valloc: %p", v);
  check_usable(v, 10, "valloc");
  free(v);
  void *p = (void *)1;
  int rc = posix_memalign(&p, 3, 16);  // not a power of two
  CHECK(rc == EINVAL, "posix_memalign(3) returned %d, expected EINVAL", rc);
  rc = posix_memalign(&p, 2, 16);  // not a multiple of sizeof(void*)
  CHECK(rc == EINVAL, "posix_memalign(2) returned %d, expected EINVAL", rc);
  // aligned_alloc with an alignment that is not a power of two: glibc 2.36
  // rounds it up, later glibc and other allocators fail with EINVAL. What
  // this allocator does goes to stderr; the test compares it with and
  // without leaktrace, allocator by allocator.
  const size_t odd[][2] = {{48, 96}, {3, 256}, {0, 100}, {24, 24}};
  fprintf(stderr, "odd-alignment:");
  for (int i = 0; i < 4; ++i) {
    errno = 0;
    void *q = aligned_alloc(odd[i][0], odd[i][1]);
    fprintf(stderr, " aligned_alloc(%zu,%zu)=%s", odd[i][0], odd[i][1], q ? "ok" : strerror(errno));
    if (q) {
      memset(q, 1, odd[i][1]);
      free(q);
    }
  }
  fprintf(stderr, "\n");
  printf("aligned ok\n");
}

static void extras(void) {
  // Whatever the numbers (they depend on the allocator), the calls work.
  struct mallinfo2 mi = mallinfo2();
  (void)mi;
  int trim = malloc_trim(0);
  CHECK(trim == 0 || trim == 1, "malloc_trim returned %d", trim);
  int opt = mallopt(M_ARENA_MAX, 2);
  (void)opt;
  opt = mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  (void)opt;
  // And allocation still works after them.
  void *p = malloc(300000);
  check_usable(p, 300000, "malloc after mallopt");
  free(p);
  mi = mallinfo2();
  printf("mallinfo2/malloc_trim/mallopt ok\n");
}

#define THREADS 4
#define PER_THREAD 20000
static void *handoff[THREADS][PER_THREAD];

static void *producer(void *arg) {
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < PER_THREAD; i++) {
    handoff[t][i] = malloc((size_t)(16 + (i * 37 + t) % 2000));
    memset(handoff[t][i], t, 16);
  }
  return NULL;
}

static void *consumer(void *arg) {
  int t = (int)(intptr_t)arg;
  // Frees what another thread allocated.
  for (int i = 0; i < PER_THREAD; i++) free(handoff[(t + 1) % THREADS][i]);
  return NULL;
}

// The first allocation of a thread is aligned: the tracker starts the
// thread's sampling countdown there and must not hand back a block aligned
// only for malloc. Several threads, because a 16-aligned block is also
// 32/64-aligned by chance.
static void *first_aligned(void *arg) {
  size_t alignment = (size_t)(intptr_t)arg;
  void *p = aligned_alloc(alignment, alignment);
  CHECK(p && aligned(p, alignment), "first allocation of a thread, aligned_alloc(%zu): %p", alignment, p);
  free(p);
  void *q = NULL;
  int rc = posix_memalign(&q, alignment, 40);
  CHECK(rc == 0 && aligned(q, alignment), "posix_memalign(%zu) in a new thread: rc %d, %p", alignment, rc, q);
  free(q);
  return NULL;
}

static void first_allocation_aligned(void) {
  static const size_t aligns[] = {32, 64};
  for (int round = 0; round < 8; round++) {
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
      pthread_t th;
      if (pthread_create(&th, NULL, first_aligned, (void *)(intptr_t)aligns[i]) == 0) pthread_join(th, NULL);
    }
  }
  printf("thread-first aligned ok\n");
}

static void threads(void) {
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, producer, (void *)(intptr_t)t);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, consumer, (void *)(intptr_t)t);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  printf("threads ok\n");
}

int main(void) {
  basic();
  alignment();
  first_allocation_aligned();
  extras();
  threads();
  leak_blocks_here();
  printf("leaked %d blocks of %d bytes\n", LEAK_BLOCKS, LEAK_SIZE);
  printf("%s\n", failures ? "FAILED" : "all ok");
  fflush(stdout);
  return failures ? 1 : 0;
}
