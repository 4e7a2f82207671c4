/* plugin_test.cc's program: between checkpoints "before" and "after" it
   dlopen's the plugin named by argv[1], has it leak argv[2] blocks, and
   dlclose's it again, so the plugin is gone by the time of the second
   snapshot (checked with RTLD_NOLOAD; exit 4 if it is still loaded). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "step_protocol.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  checkpoint("before");
  void* plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (plugin == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 3;
  }
  int (*leak)(int) = (int (*)(int))dlsym(plugin, "plugin_leak");
  if (leak == NULL || leak(atoi(argv[2])) != atoi(argv[2])) return 3;
  if (dlclose(plugin) != 0) return 3;
  if (dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) != NULL) return 4; /* still loaded */
  checkpoint("after");
  return 0;
}
