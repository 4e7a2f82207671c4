/* A buffer grown by realloc in fixed steps, as a reader appending to a
   growing message buffer does: realloc_grow STEP TOTAL [REPEAT].
   Each step writes the new tail, so the bytes are really there. The
   allocator's own realloc grows in place or by mremap: amortised O(1) per
   step. A tracker that copies the whole block at each step is quadratic. */
#include <string.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long step = pattern_arg(argc, argv, 1, 4096);
  const long total = pattern_arg(argc, argv, 2, 8L << 20);
  const long repeat = pattern_arg(argc, argv, 3, 1);
  const double start = pattern_now();
  for (long r = 0; r < repeat; ++r) {
    char* buf = NULL;
    for (long size = step; size <= total; size += step) {
      buf = realloc(buf, (size_t)size);
      if (!buf) pattern_die("realloc");
      memset(buf + size - step, (int)(size & 0xff), (size_t)step);
    }
    pattern_sink = buf;
    free(buf);
  }
  pattern_report(start);
  return 0;
}
