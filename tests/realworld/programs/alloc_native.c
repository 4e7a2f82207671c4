// Mixes the standard malloc API with the allocator's own API, as programs
// built for jemalloc or tcmalloc do (folly's smartRealloc/goodMallocSize,
// MallocExtension::GetAllocatedSize...). Both are documented as valid when
// that allocator is the process's malloc:
//   jemalloc: mallocx/rallocx/sallocx/dallocx/sdallocx/nallocx on blocks from
//             malloc, and free/realloc/malloc_usable_size on blocks from mallocx;
//   tcmalloc: tc_malloc/tc_free/tc_malloc_size likewise.
// Found with dlsym, so one binary runs on glibc (nothing to do), jemalloc and
// tcmalloc. Prints what it exercised; exits 0 when every check passed.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void) {
  jemalloc_api();
  tcmalloc_api();
  printf("%s\n", failures ? "FAILED" : "all ok");
  return failures ? 1 : 0;
}
