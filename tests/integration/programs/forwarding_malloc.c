/* An LD_PRELOAD interposer that counts malloc calls and passes each on with
   dlsym(RTLD_NEXT, "malloc"), as libfaketime-style shims and a program's
   own wrappers do (preload_order_test.cc). Placed in front of
   libleaktrace.so, its calls still reach leaktrace's hooks. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

static void* (*next_malloc)(size_t);
unsigned long forwarding_malloc_calls;

void* malloc(size_t size) {
  /* dlsym may allocate through calloc, never malloc, in glibc: no recursion. */
  if (next_malloc == NULL) next_malloc = (void* (*)(size_t))dlsym(RTLD_NEXT, "malloc");
  ++forwarding_malloc_calls;
  return next_malloc(size);
}
