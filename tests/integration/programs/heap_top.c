/* Whether glibc's heap keeps its freed blocks joined to its top: COUNT
   blocks of random sizes from 1 to 200,000 bytes, each allocated, its
   first byte written, and freed, under a fixed trim threshold of 1 MiB
   (mallopt, which also fixes the mmap threshold at 128 KiB). Plainly the
   heap's top soon holds 1 MiB and every later block comes from it. A
   block pinned in the heap's middle (one left in the thread's cache by a
   malloc and free the program did not make) keeps the top small, and
   each block above 128 KiB then becomes a mapping of its own: an mmap and
   a munmap. Prints "mapped N of COUNT": the blocks outside the heap
   (above the program break). */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const long count = argc > 1 ? atol(argv[1]) : 100000;
  if (count < 1 || mallopt(M_TRIM_THRESHOLD, 1 << 20) != 1) return 2;
  uint64_t state = 88172645463325252ULL;
  long mapped = 0;
  for (long i = 0; i < count; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    volatile char* p = malloc(1 + state % 200000);
    if (p == NULL) return 2;
    p[0] = 1;
    if ((uintptr_t)p > (uintptr_t)sbrk(0)) ++mapped;
    free((void*)p);
  }
  printf("mapped %ld of %ld\n", mapped, count);
  return 0;
}
