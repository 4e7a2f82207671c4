/* The textbook pass-through malloc/free counter (preload_order_test.cc): each
   function resolves the next one lazily, with dlsym(RTLD_NEXT, ...) inside
   itself, on its first call. Placed after libleaktrace.so (what `leaktrace
   run` makes of an LD_PRELOAD that already named it), the hooks pass their
   calls on to it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

static void* (*next_malloc)(size_t);
static void (*next_free)(void*);
unsigned long lazy_counter_calls;

void* malloc(size_t size) {
  if (next_malloc == NULL) next_malloc = (void* (*)(size_t))dlsym(RTLD_NEXT, "malloc");
  ++lazy_counter_calls;
  return next_malloc(size);
}

void free(void* p) {
  if (next_free == NULL) next_free = (void (*)(void*))dlsym(RTLD_NEXT, "free");
  ++lazy_counter_calls;
  next_free(p);
}
