/* A buffer shrunk by realloc in fixed steps, as a consumer trimming what it
   has processed does: realloc_shrink STEP TOTAL. The allocator shrinks in
   place; a tracker that copies the block at each step is quadratic. */
#include <string.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long step = pattern_arg(argc, argv, 1, 4096);
  const long total = pattern_arg(argc, argv, 2, 32L << 20);
  const double start = pattern_now();
  char* buf = malloc((size_t)total);
  if (!buf) pattern_die("malloc");
  memset(buf, 1, (size_t)total);
  for (long size = total - step; size >= step; size -= step) {
    buf = realloc(buf, (size_t)size);
    if (!buf) pattern_die("realloc");
    buf[size - 1] ^= 1;
  }
  pattern_sink = buf;
  free(buf);
  pattern_report(start);
  return 0;
}
