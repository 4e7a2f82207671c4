// Mixes the standard malloc API with the allocator's own API, as programs
// built for jemalloc or tcmalloc do (folly's smartRealloc/goodMallocSize,
// MallocExtension::GetAllocatedSize...). Both are documented as valid when
// that allocator is the process's malloc:
//   jemalloc: mallocx/rallocx/sallocx/dallocx/sdallocx/nallocx on blocks from
//             malloc, and free/realloc/malloc_usable_size on blocks from mallocx;
//   tcmalloc: tc_malloc/tc_free/tc_malloc_size likewise.
// Reached two ways, as real programs do: through dlsym, and through weak
// references (folly's `if (mallocx != nullptr)`), so one binary runs on glibc
// (nothing to do), jemalloc and tcmalloc. Then it leaks LEAK_BLOCKS blocks of
// LEAK_SIZE bytes through the allocator's own API, in leak_native_here().
// Prints what it exercised; exits 0 when every check passed.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAK_BLOCKS 256  // NATIVE_LEAK_BLOCKS in allocators_test.py
#define LEAK_SIZE 4000
#define MALLOCX_ALIGN(a) ((int)(__builtin_ffsll((long long)(a)) - 1))
#define MALLOCX_ZERO ((int)0x40)

// Weak references: null unless the allocator the program runs on has them.
extern void *mallocx(size_t, int) __attribute__((weak));
extern void *rallocx(void *, size_t, int) __attribute__((weak));
extern size_t xallocx(void *, size_t, size_t, int) __attribute__((weak));
extern size_t sallocx(const void *, int) __attribute__((weak));
extern void dallocx(void *, int) __attribute__((weak));
extern void sdallocx(void *, size_t, int) __attribute__((weak));
extern void *tc_malloc(size_t) __attribute__((weak));
extern void tc_free(void *) __attribute__((weak));
extern void *tc_new(size_t) __attribute__((weak));
extern void tc_delete_sized(void *, size_t) __attribute__((weak));
extern void tc_free_sized(void *, size_t) __attribute__((weak));
extern size_t tc_malloc_size(void *) __attribute__((weak));
extern void *tc_memalign(size_t, size_t) __attribute__((weak));

static void *volatile sink;

static int failures;
#define CHECK(cond, ...)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      printf("FAIL line %d: ", __LINE__);                \
      printf(__VA_ARGS__);                               \
      printf("\n");                                      \
      fflush(stdout);                                    \
      failures++;                                        \
    }                                                    \
  } while (0)

static void jemalloc_api(void) {
  void *(*mallocx)(size_t, int) = (void *(*)(size_t, int))dlsym(RTLD_DEFAULT, "mallocx");
  void *(*rallocx)(void *, size_t, int) = (void *(*)(void *, size_t, int))dlsym(RTLD_DEFAULT, "rallocx");
  size_t (*sallocx)(const void *, int) = (size_t(*)(const void *, int))dlsym(RTLD_DEFAULT, "sallocx");
  void (*dallocx)(void *, int) = (void (*)(void *, int))dlsym(RTLD_DEFAULT, "dallocx");
  void (*sdallocx)(void *, size_t, int) = (void (*)(void *, size_t, int))dlsym(RTLD_DEFAULT, "sdallocx");
  if (!mallocx || !rallocx || !sallocx || !dallocx || !sdallocx) return;
  // Native blocks through the standard API.
  for (int i = 0; i < 2000; i++) {
    size_t n = 24 + (size_t)i * 13;
    char *p = mallocx(n, 0);
    memset(p, 1, n);
    CHECK(malloc_usable_size(p) >= n, "malloc_usable_size(mallocx(%zu))", n);
    p = realloc(p, n * 2);
    CHECK(p && p[0] == 1 && p[n - 1] == 1, "realloc(mallocx(%zu)) lost content", n);
    free(p);
  }
  // Standard blocks through the native API.
  for (int i = 0; i < 2000; i++) {
    size_t n = 24 + (size_t)i * 13;
    char *p = malloc(n);
    memset(p, 2, n);
    CHECK(sallocx(p, 0) >= n, "sallocx(malloc(%zu))", n);
    p = rallocx(p, n * 2, 0);
    CHECK(p && p[0] == 2 && p[n - 1] == 2, "rallocx(malloc(%zu)) lost content", n);
    if (i % 2) dallocx(p, 0); else sdallocx(p, n * 2, 0);
  }
  printf("jemalloc native api ok\n");
}

static void tcmalloc_api(void) {
  void *(*tc_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "tc_malloc");
  void (*tc_free)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "tc_free");
  size_t (*tc_malloc_size)(void *) = (size_t(*)(void *))dlsym(RTLD_DEFAULT, "tc_malloc_size");
  void *(*tc_realloc)(void *, size_t) = (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "tc_realloc");
  if (!tc_malloc || !tc_free || !tc_malloc_size || !tc_realloc) return;
  for (int i = 0; i < 2000; i++) {
    size_t n = 24 + (size_t)i * 13;
    char *p = tc_malloc(n);
    memset(p, 3, n);
    CHECK(malloc_usable_size(p) >= n, "malloc_usable_size(tc_malloc(%zu))", n);
    p = realloc(p, n * 2);
    CHECK(p && p[0] == 3 && p[n - 1] == 3, "realloc(tc_malloc(%zu)) lost content", n);
    free(p);
  }
  for (int i = 0; i < 2000; i++) {
    size_t n = 24 + (size_t)i * 13;
    char *p = malloc(n);
    memset(p, 4, n);
    CHECK(tc_malloc_size(p) >= n, "tc_malloc_size(malloc(%zu))", n);
    p = tc_realloc(p, n * 2);
    CHECK(p && p[0] == 4 && p[n - 1] == 4, "tc_realloc(malloc(%zu)) lost content", n);
    tc_free(p);
  }
  printf("tcmalloc native api ok\n");
}

// The weak references, called directly: the calls go through the program's
// own import slots (GOT), not through dlsym.
static void jemalloc_direct(void) {
  if (!mallocx || !rallocx || !xallocx || !sallocx || !dallocx || !sdallocx) return;
  for (int i = 0; i < 500; i++) {
    size_t n = 8 + (size_t)i * 29;
    size_t align = (size_t)16 << (i % 5);  // 16 .. 256
    unsigned char *p = mallocx(n, MALLOCX_ALIGN(align) | MALLOCX_ZERO);
    CHECK(p && ((uintptr_t)p & (align - 1)) == 0, "mallocx(%zu, align %zu) misaligned", n, align);
    size_t nonzero = 0;
    for (size_t k = 0; k < n; k++) nonzero += p[k] != 0;
    CHECK(nonzero == 0, "mallocx(%zu, MALLOCX_ZERO) has %zu non-zero bytes", n, nonzero);
    memset(p, 5, n);
    size_t usable = xallocx(p, n + 8, 0, MALLOCX_ALIGN(align));
    CHECK(usable >= n && sallocx(p, 0) == usable, "xallocx/sallocx disagree on mallocx(%zu)", n);
    p = rallocx(p, n * 3, MALLOCX_ALIGN(align));
    CHECK(p && ((uintptr_t)p & (align - 1)) == 0 && p[0] == 5 && p[n - 1] == 5, "rallocx(mallocx(%zu))", n);
    if (i % 3 == 0) free(p);
    else if (i % 3 == 1) dallocx(p, 0);
    else sdallocx(p, n * 3, MALLOCX_ALIGN(align));
  }
  for (int i = 0; i < 500; i++) {  // malloc's blocks, sized frees
    size_t n = 1 + (size_t)i * 17;
    char *p = calloc(1, n);
    CHECK(sallocx(p, 0) >= n, "sallocx(calloc(%zu))", n);
    sdallocx(p, n, 0);
  }
  printf("jemalloc direct calls ok\n");
}

static void tcmalloc_direct(void) {
  if (!tc_malloc || !tc_free || !tc_new || !tc_delete_sized || !tc_free_sized || !tc_malloc_size || !tc_memalign)
    return;
  for (int i = 0; i < 500; i++) {
    size_t n = 8 + (size_t)i * 29;
    char *p = i % 2 ? tc_malloc(n) : tc_new(n);
    memset(p, 6, n);
    CHECK(tc_malloc_size(p) >= n && malloc_usable_size(p) == tc_malloc_size(p), "tc sizes of %zu", n);
    if (i % 3 == 0) free(p);
    else if (i % 3 == 1) tc_delete_sized(p, n);
    else tc_free_sized(p, n);
    char *q = tc_memalign(128, n);
    CHECK(((uintptr_t)q & 127) == 0, "tc_memalign(128, %zu) misaligned", n);
    tc_free(q);
  }
  printf("tcmalloc direct calls ok\n");
}

// The leak, through whichever native API the allocator has.
__attribute__((noinline)) static void leak_native_here(void) {
  for (int i = 0; i < LEAK_BLOCKS; i++) {
    if (mallocx) sink = mallocx(LEAK_SIZE, i % 2 ? MALLOCX_ZERO : 0);
    else if (tc_malloc) sink = i % 2 ? tc_new(LEAK_SIZE) : tc_malloc(LEAK_SIZE);
  }
}

int main(void) {
  jemalloc_api();
  tcmalloc_api();
  jemalloc_direct();
  tcmalloc_direct();
  leak_native_here();
  printf("%s\n", failures ? "FAILED" : "all ok");
  return failures ? 1 : 0;
}
