/* Buffers grown by realloc in small steps and kept, for the age estimate of
   exact mode (age_test.cc): a realloc's growth continues the block's age
   decision (heap_paths.cc, ReageExact), which must leave the estimate of the
   old heap unbiased. grow_buffers grows kBuffers buffers from 64 to
   kFinal bytes in 64-byte steps; grow_then_shrink grows kBuffers / 2 to
   2 * kFinal, then shrinks each to kFinal (a shrink decides afresh).
   Checkpoints: "grown" right after, "aged" two seconds later.
     aging_realloc late
   allocates kLateBuffers buffers of kLateStart bytes (allocate_buffers),
   stops at checkpoint "allocated", then grows each in kLateStep steps to
   kLateFinal bytes (grow_late) and stops at "grown": a realloc keeps the
   block's birth, so the buffers are as old as their allocation. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "step_protocol.h"

enum { kBuffers = 4000, kStep = 64, kFinal = 4096 };

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

/* Sampled (and aged, in exact mode) at their allocation all but surely:
   1 - exp(-512 KiB / 16 KiB) for the test's mean interval. */
enum { kLateBuffers = 50, kLateStart = 512 * 1024, kLateStep = 4096, kLateFinal = 640 * 1024 };
static char* late[kLateBuffers];

__attribute__((noinline)) static void allocate_buffers(void) {
  for (int i = 0; i < kLateBuffers; ++i) {
    late[i] = malloc(kLateStart);
    if (late[i] == NULL) exit(1);
    memset(late[i], 1, kLateStart);
  }
}

__attribute__((noinline)) static void grow_late(void) {
  for (int i = 0; i < kLateBuffers; ++i)
    for (size_t size = kLateStart + kLateStep; size <= kLateFinal; size += kLateStep) {
      late[i] = realloc(late[i], size);
      if (late[i] == NULL) exit(1);
      late[i][size - 1] = 1;
    }
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "late") == 0) {
    allocate_buffers();
    checkpoint("allocated");
    grow_late();
    sink = late;
    checkpoint("grown");
    return 0;
  }
  grow_buffers();
  grow_then_shrink();
  sink = kept;
  checkpoint("grown");
  sleep(2);
  checkpoint("aged");
  return 0;
}
