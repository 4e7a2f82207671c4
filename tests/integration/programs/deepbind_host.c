/* Usage: deepbind_host PLUGIN_DIR. Opens libdeepbind_plugin.so twice: by
   full path with RTLD_DEEPBIND, and by bare name without it (found through
   this program's RUNPATH, which only works if dlopen still sees this program
   as its caller). Passes blocks across in both directions, resizes blocks
   the plugin's constructor took from libc, and closes the plugin (its
   destructor frees them). */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step_protocol.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/libdeepbind_plugin.so", argv[1]);
  void* deep = dlopen(path, RTLD_NOW | RTLD_DEEPBIND);
  void* bare = dlopen("libdeepbind_plugin.so", RTLD_NOW);  /* RUNPATH of this program */
  if (deep == NULL || bare == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  void* (*plugin_alloc)(size_t) = (void* (*)(size_t))dlsym(deep, "plugin_alloc");
  void (*plugin_free)(void*) = (void (*)(void*))dlsym(deep, "plugin_free");
  void* (*plugin_grow)(void*, size_t) = (void* (*)(void*, size_t))dlsym(deep, "plugin_grow");
  void* (*deep_leak)(void) = (void* (*)(void))dlsym(deep, "deep_leak");
  void** (*plugin_startup_block)(int) = (void** (*)(int))dlsym(deep, "plugin_startup_block");
  checkpoint("before");
  for (int i = 0; i < 2000; ++i) {
    char* from_plugin = plugin_alloc(64 + (size_t)i % 300);
    free(from_plugin);                       /* plugin's block, our free */
    char* from_host = malloc(32 + (size_t)i % 500);
    from_host = plugin_grow(from_host, 900); /* our block, plugin's realloc */
    plugin_free(from_host);                  /* our block, plugin's free */
  }
  for (int i = 0; i < 8; i += 2) {
    void** slot = plugin_startup_block(i);
    if (malloc_usable_size(*slot) < 24 + 40 * (size_t)i) return 3;
    char* grown = realloc(*slot, 4000); /* libc's block, our realloc */
    if (grown == NULL || grown[0] != (char)i || grown[23] != (char)i) return 4;
    *slot = grown;
  }
  static void* volatile kept;
  kept = deep_leak();
  (void)kept;
  checkpoint("after");
  dlclose(bare);
  dlclose(deep); /* the destructor frees the startup blocks through our free */
  printf("ok\n");
  return 0;
}
