/* Three growth shapes side by side, for `leaktrace trend` (trend_test.cc).
   Checkpoint "step0" comes before any of them, then "step1".."step4" each
   after one step; the test snapshots at every checkpoint (five snapshots):
     cache_insert     a bounded cache: CACHE_PER_STEP entries per step into a
                      ring of CACHE_SLOTS, the oldest freed when full; live
                      bytes fill in two steps, then stay while it keeps
                      allocating (bounded);
     warm_up          allocates in the first step only (warm-up);
     leak_every_step  allocates every step and never frees (leak).
   Keep the constants in step with trend_test.cc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step_protocol.h"

#define STEPS 4
#define CACHE_SLOTS 8
#define CACHE_PER_STEP 4
#define CACHE_ENTRY 256
#define WARM_UP_BLOCKS 16
#define WARM_UP_SIZE 512
#define LEAK_PER_STEP 10
#define LEAK_SIZE 96

static void* volatile cache[CACHE_SLOTS];
static int cache_next;
static void* volatile warm[WARM_UP_BLOCKS];
static void* volatile leaked[STEPS * LEAK_PER_STEP];
static int leaked_count;

__attribute__((noinline)) void cache_insert(void) {
  for (int i = 0; i < CACHE_PER_STEP; ++i) {
    free(cache[cache_next]);
    cache[cache_next] = malloc(CACHE_ENTRY);
    memset(cache[cache_next], 1, CACHE_ENTRY);
    cache_next = (cache_next + 1) % CACHE_SLOTS;
  }
}

__attribute__((noinline)) void warm_up(void) {
  for (int i = 0; i < WARM_UP_BLOCKS; ++i) warm[i] = malloc(WARM_UP_SIZE);
}

__attribute__((noinline)) void leak_every_step(void) {
  for (int i = 0; i < LEAK_PER_STEP; ++i) leaked[leaked_count++] = malloc(LEAK_SIZE);
}

int main(void) {
  checkpoint("step0");
  for (int step = 1; step <= STEPS; ++step) {
    if (step == 1) warm_up();
    cache_insert();
    leak_every_step();
    char name[16];
    snprintf(name, sizeof name, "step%d", step);
    checkpoint(name);
  }
  return 0;
}
