/* Loaded with RTLD_DEEPBIND by deepbind_host: its malloc and free bind to
   libc first unless leaktrace rebinds them. Blocks cross the boundary both
   ways, and one leaks from deep_leak(). Its constructor runs inside the
   real dlopen, before leaktrace can rebind anything, so the blocks it takes
   come from libc itself; they are resized by the host and freed by the
   destructor at dlclose, through leaktrace's hooks by then. */
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

static void* startup_blocks[8];

__attribute__((constructor)) static void take_startup_blocks(void) {
  for (int i = 0; i < 8; ++i) {
    startup_blocks[i] = malloc(24 + 40 * (size_t)i);
    memset(startup_blocks[i], i, 24 + 40 * (size_t)i);
  }
}

__attribute__((destructor)) static void give_back_startup_blocks(void) {
  for (int i = 0; i < 8; ++i) free(startup_blocks[i]);
}

void** plugin_startup_block(int i) { return &startup_blocks[i]; }
