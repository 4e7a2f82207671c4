/* A program that uses all of malloc_usable_size(p), as redis does, then
   grows and shrinks the block with realloc: every byte it wrote must survive.
   Exits 1 on the first lost byte. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  unsigned seed = 12345;
  for (int i = 0; i < 3000; ++i) {
    seed = seed * 1103515245u + 12345u;
    size_t size = 1 + seed % 3000;
    unsigned char* p = malloc(size);
    size_t usable = malloc_usable_size(p);
    if (usable < size) return 2;
    for (size_t k = 0; k < usable; ++k) p[k] = (unsigned char)(k * 31 + i);
    size_t grown = size + 1 + (seed >> 8) % 5000;
    unsigned char* q = realloc(p, grown);
    size_t kept = usable < grown ? usable : grown;
    for (size_t k = 0; k < kept; ++k)
      if (q[k] != (unsigned char)(k * 31 + i)) {
        printf("byte %zu of %zu lost (round %d)\n", k, kept, i);
        return 1;
      }
    free(q);
  }
  printf("ok\n");
  return 0;
}
