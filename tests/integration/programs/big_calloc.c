/* calloc must not make memory resident: COUNT blocks of SIZE MiB from
   calloc, one byte written in each (one page touched), all alive at once.
   Prints "rss_kib N" (VmRSS while they are alive) and exits 0, or 1 when a
   byte read is not zero. Then checks calloc's zeroing on reused memory:
   blocks filled with 0xAA, freed, and calloc'd again at the same sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long RssKib(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = atol(line + 6);
  if (f) fclose(f);
  return kib;
}

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
  const int count = argc > 2 ? atoi(argv[2]) : 8;
  unsigned char* blocks[64];
  for (int i = 0; i < count && i < 64; ++i) {
    blocks[i] = calloc(1, mib << 20);
    if (blocks[i] == NULL) return 2;
    blocks[i][(mib << 20) / 2] = 1;
    if (blocks[i][0] != 0 || blocks[i][(mib << 20) - 1] != 0) return 1;
  }
  printf("rss_kib %ld\n", RssKib());
  for (int i = 0; i < count && i < 64; ++i) free(blocks[i]);

  unsigned seed = 7;
  for (int round = 0; round < 2000; ++round) {
    seed = seed * 1103515245u + 12345u;
    const size_t size = 1 + (seed >> 4) % 200000;
    unsigned char* p = malloc(size);
    memset(p, 0xAA, size);
    free(p);
    unsigned char* q = calloc(size, 1);
    for (size_t k = 0; k < size; ++k)
      if (q[k] != 0) {
        printf("calloc byte %zu of %zu not zero (round %d)\n", k, size, round);
        return 1;
      }
    free(q);
  }
  printf("ok\n");
  return 0;
}
