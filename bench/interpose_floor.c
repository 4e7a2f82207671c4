/* The floor of any malloc interposer: a preloaded library whose malloc
   family only forwards to glibc's, with the same per-call work as
   leaktrace's sampled-mode fast path (a thread-local countdown on
   allocation, a pointer test on free) and nothing else. scripts/bench.sh
   runs the churn workload under it to show how much of leaktrace's
   default-mode overhead is the price of interposing at all.

   glibc only (__libc_malloc and friends); not part of leaktrace. */
#include <stddef.h>
#include <stdint.h>

extern void* __libc_malloc(size_t);
extern void __libc_free(void*);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static __thread __attribute__((tls_model("initial-exec"))) int64_t countdown = INT64_MAX;
static void* volatile never;  /* keeps the tests from being optimised away */

__attribute__((visibility("default"))) void* malloc(size_t size) {
  if ((countdown -= (int64_t)size) <= 0) never = &countdown;
  return __libc_malloc(size);
}

__attribute__((visibility("default"))) void free(void* p) {
  if (((uintptr_t)p & 4095) == 64 && never == p) return;
  __libc_free(p);
}

__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) { return __libc_calloc(n, size); }

__attribute__((visibility("default"))) void* realloc(void* p, size_t size) { return __libc_realloc(p, size); }

__attribute__((visibility("default"))) void* memalign(size_t alignment, size_t size) {
  return __libc_memalign(alignment, size);
}
