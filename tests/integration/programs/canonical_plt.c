/* A program built as CPython and node are on Debian: not PIE, its code not
   position-independent, and taking malloc's address (an allocator table),
   so the executable holds a canonical PLT entry for malloc, the address
   dlsym(RTLD_DEFAULT, "malloc") answers (attach_test.cc). Checkpoint
   "ready" (attach here), then it keeps 400 blocks of 100,000 bytes from
   malloc, half through the table and half by direct calls, checkpoint
   "after" (snapshot here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step_protocol.h"

typedef void* (*alloc_fn)(size_t);
alloc_fn allocators[] = {malloc};
void* volatile kept[400];

int main(void) {
  /* Its address taken in the code itself (an absolute relocation there):
     what makes the linker give the executable a canonical PLT entry. */
  alloc_fn volatile chosen = malloc;
  checkpoint("ready");
  for (int i = 0; i < 400; ++i) {
    kept[i] = i % 2 ? allocators[0](100000) : chosen(100000);
    if (!kept[i]) return 2;
    memset(kept[i], 1, 100000);
  }
  checkpoint("after");
  return 0;
}
