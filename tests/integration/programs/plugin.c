/* A plugin for plugin_test.cc: plugin_host dlopen's it, calls plugin_leak,
   and dlclose's it before the snapshot. The blocks it leaks outlive it, and
   the report must still name this file's function and line. Built -g -O2.
   The test finds the expected lines by the "LINE:" markers below. */
#include <stdlib.h>
#include <string.h>

#define PLUGIN_BLOCK_SIZE 72

static void* volatile kept[256];

/* Inlined into plugin_leak: the report shows it as a frame of its own. */
static inline __attribute__((always_inline)) void* make_record(int i) {
  char* p = malloc(PLUGIN_BLOCK_SIZE); /* LINE: plugin-malloc */
  if (p) memset(p, i, PLUGIN_BLOCK_SIZE);
  return p;
}

__attribute__((visibility("default"), noinline)) int plugin_leak(int n) {
  int made = 0;
  for (int i = 0; i < n && i < 256; ++i) {
    kept[i] = make_record(i); /* LINE: plugin-call */
    made += kept[i] != NULL;
  }
  return made;
}
