/* Loaded with RTLD_DEEPBIND by deepbind_host: its malloc and free bind to
   libc first unless leaktrace rebinds them. Blocks cross the boundary both
   ways, and one leaks from deep_leak(). */
#include <stdlib.h>
#include <string.h>

static void* volatile last_leak;

__attribute__((noinline)) void* deep_leak(void) {
  last_leak = malloc(777); /* not a tail call: deep_leak stays on the stack */
  return last_leak;
}

void* plugin_alloc(size_t size) {
  char* p = malloc(size);
  memset(p, 7, size);
  return p;
}

void plugin_free(void* p) { free(p); }

void* plugin_grow(void* p, size_t size) { return realloc(p, size); }
