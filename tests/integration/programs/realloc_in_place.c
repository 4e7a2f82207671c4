/* N times: a block of 64-2,063 bytes, realloc'd to LO..LO+SPAN-1 bytes, its
   last byte written, freed. Plainly glibc grows each one in place at the
   top of the heap; the program prints how many moved instead:
   "moved M of N". Usage: realloc_in_place N LO SPAN */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  const long n = atol(argv[1]);
  const size_t lo = strtoul(argv[2], NULL, 10), span = strtoul(argv[3], NULL, 10);
  uint64_t x = 88172645463325252ULL;
  long moved = 0;
  for (long i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    char* p = malloc(64 + x % 2000);
    if (p == NULL) return 1;
    p[0] = 1;
    const size_t size = lo + (x >> 20) % span;
    char* q = realloc(p, size);
    if (q == NULL) return 1;
    if (q != p) ++moved;
    q[size - 1] = 2;
    free(q);
  }
  printf("moved %ld of %ld\n", moved, n);
  return 0;
}
