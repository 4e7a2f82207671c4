/* For the sampled-mode accuracy test: between "before" and "after",
   leak_known_bytes() leaks LEAK_BLOCKS blocks of LEAK_SIZE bytes, and
   churn_balanced() allocates and frees far more than that. The estimates
   must cover the truth within their stated error. */
#include <stdlib.h>
#include <string.h>

#include "step_protocol.h"

#define LEAK_BLOCKS 20000
#define LEAK_SIZE 1000
#define CHURN_ROUNDS 400000

static void* volatile kept[LEAK_BLOCKS];
static void* live[1024];

__attribute__((noinline)) void leak_known_bytes(void) {
  for (int i = 0; i < LEAK_BLOCKS; ++i) {
    kept[i] = malloc(LEAK_SIZE);
    memset(kept[i], 1, 8);
  }
}

__attribute__((noinline)) void churn_balanced(void) {
  unsigned long long s = 88172645463325252ULL;
  for (int i = 0; i < CHURN_ROUNDS; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const int slot = (int)(s % 1024);
    free(live[slot]);
    live[slot] = malloc(16 + (s >> 32) % 2000);
  }
  for (int i = 0; i < 1024; ++i) {
    free(live[i]);
    live[i] = NULL;
  }
}

int main(void) {
  checkpoint("before");
  leak_known_bytes();
  churn_balanced();
  checkpoint("after");
  return 0;
}
