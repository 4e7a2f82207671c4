/* Buffers grown by realloc in small steps and kept, for the age estimate of
   exact mode (age_test.cc): a realloc's growth continues the block's age
   decision (heap_paths.cc, ReageExact), which must leave the estimate of the
   old heap unbiased. grow_buffers grows kBuffers buffers from 64 to
   kFinal bytes in 64-byte steps; grow_then_shrink grows kBuffers / 2 to
   2 * kFinal, then shrinks each to kFinal (a shrink decides afresh).
   Checkpoints: "grown" right after, "aged" two seconds later. */
#include <stdlib.h>
#include <unistd.h>

#include "step_protocol.h"

enum { kBuffers = 2000, kStep = 64, kFinal = 4096 };

static void* volatile sink;
static void* kept[kBuffers + kBuffers / 2];

__attribute__((noinline)) static void grow_buffers(void) {
  for (int i = 0; i < kBuffers; ++i) {
    void* p = NULL;
    for (size_t size = kStep; size <= kFinal; size += kStep) p = realloc(p, size);
    kept[i] = p;
  }
}

__attribute__((noinline)) static void grow_then_shrink(void) {
  for (int i = 0; i < kBuffers / 2; ++i) {
    void* p = NULL;
    for (size_t size = kStep; size <= 2 * kFinal; size += kStep) p = realloc(p, size);
    kept[kBuffers + i] = realloc(p, kFinal);
  }
}

int main(void) {
  grow_buffers();
  grow_then_shrink();
  sink = kept;
  checkpoint("grown");
  sleep(2);
  checkpoint("aged");
  return 0;
}
