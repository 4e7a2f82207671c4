/* A call site that holds much live before it starts to leak, for `leaktrace
   check --trend` in sampled mode (trend_test.cc): grow() keeps 28 MiB in
   blocks of 1000 bytes before checkpoint "step0", then 256 KiB more before
   each of "step1".."step8", never freeing. Keep the constants in step with
   trend_test.cc. */
#include <stdlib.h>
#include <string.h>

#include "step_protocol.h"

#define BLOCK 1000
#define MIB (1024 * 1024)

__attribute__((noinline)) void grow(long bytes) {
  for (long kept = 0; kept < bytes; kept += BLOCK) {
    char* p = malloc(BLOCK);
    if (p == NULL) exit(2);
    memset(p, 1, BLOCK);
  }
}

int main(void) {
  for (int step = 0; step <= 8; ++step) {
    grow(step == 0 ? 28L * MIB : MIB / 4);  // one call site: one site, base and leak
    char name[16];
    name[0] = 's', name[1] = 't', name[2] = 'e', name[3] = 'p', name[4] = (char)('0' + step), name[5] = '\0';
    checkpoint(name);
  }
  return 0;
}
