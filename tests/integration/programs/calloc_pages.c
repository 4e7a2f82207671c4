/* The pages a big calloc makes resident: COUNT blocks of 1 MiB from calloc
   (above glibc's mmap threshold, so each is a mapping of its own, whose
   first 16 bytes hold the allocator's chunk header), one byte written in
   the middle of each, all kept alive. Prints "growth_kib N": how much the
   resident set grew from after the first block to after the last, read
   from /proc/self/smaps_rollup (which walks the page tables: exact).
   Plainly that is two pages a block: the header's and the byte's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long RssKib(void) {
  FILE* f = fopen("/proc/self/smaps_rollup", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "Rss:", 4) == 0) kib = atol(line + 4);
  if (f) fclose(f);
  return kib;
}

int main(int argc, char** argv) {
  const int count = argc > 1 ? atoi(argv[1]) : 256;
  const size_t size = (size_t)1 << 20;
  unsigned char** blocks = malloc(sizeof *blocks * (size_t)count);
  if (blocks == NULL || count < 2) return 2;
  long before = 0;
  for (int i = 0; i < count; ++i) {
    blocks[i] = calloc(1, size);
    if (blocks[i] == NULL) return 2;
    blocks[i][size / 2] = 1;
    if (i == 0) before = RssKib();
  }
  const long after = RssKib();
  if (before < 0 || after < 0) return 2;
  printf("growth_kib %ld\n", after - before);
  for (int i = 0; i < count; ++i) free(blocks[i]);
  free(blocks);
  return 0;
}
