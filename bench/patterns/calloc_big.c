/* Large zeroed blocks of which the program touches one page:
   calloc_big COUNT MIB keep|free|head. The kernel hands out zero pages
   lazily, so plainly the process stays small whatever COUNT x MIB is; a
   tracker that zeroes a block by hand makes all of it resident (peak RSS is
   the figure, time the second). "keep" holds every block until the end,
   "free" frees each at once; both touch page i of block i. "head" frees each
   at once too, after writing its first bytes, as a program filling a buffer
   from its start does: each block is then mapped and unmapped by the C
   library at one place, and what its unmapping costs depends on where that
   place lies (a preloaded library that moves it made this 2x slower). */
#include <string.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 8);
  const long mib = pattern_arg(argc, argv, 2, 256);
  const int keep = argc > 3 && strcmp(argv[3], "keep") == 0;
  const int head = argc > 3 && strcmp(argv[3], "head") == 0;
  char** blocks = calloc((size_t)count, sizeof *blocks);
  if (!blocks) pattern_die("calloc");
  const double start = pattern_now();
  for (long i = 0; i < count; ++i) {
    char* p = calloc(1, (size_t)mib << 20);
    if (!p) pattern_die("calloc");
    if (head) memset(p, 1, 64);
    else p[(size_t)(i * 4096) % ((size_t)mib << 20)] = 1;
    pattern_sink = p;
    if (keep) blocks[i] = p;
    else free(p);
  }
  for (long i = 0; i < count; ++i) free(blocks[i]);
  pattern_report(start);
  free(blocks);
  return 0;
}
