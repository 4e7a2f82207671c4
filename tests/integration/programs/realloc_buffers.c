/* Buffers grown, shrunk and grown again by realloc, every one kept
   (sampling_accuracy_test.cc): the sampled estimate of what is live must
   cover the truth, which the program prints as "COUNT BYTES". Four shapes,
   each across the sampling interval: growth in 64-byte steps; growth in
   512-byte steps, a shrink to a quarter and growth again to three eighths;
   growth, a shrink to 5000 bytes and growth again to half; a malloc of the
   final size's half then growth in 4 KiB steps. Sizes vary with a fixed pseudo-random sequence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFFERS 400

static char* keep[BUFFERS];
static size_t kept_size[BUFFERS];

static char* resize(char* p, size_t size) {
  char* q = realloc(p, size);
  if (q == NULL) exit(2);
  q[size - 1] = 1;
  return q;
}

static char* grow(char* p, size_t from, size_t to, size_t step) {
  for (size_t size = from + step; size <= to; size += step) p = resize(p, size);
  return p;
}

__attribute__((noinline)) void grow_buffers(void) {
  unsigned long long rng = 88172645463325252ull;
  for (int i = 0; i < BUFFERS; ++i) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    const size_t final = 139264 + (size_t)(rng % (256 * 1024));  /* 136 KiB .. 392 KiB */
    char* p = NULL;
    size_t size = final;
    switch (i % 4) {
      case 0:
        p = grow(NULL, 0, final, 64);
        break;
      case 1:
        p = grow(NULL, 0, final, 512);
        p = resize(p, final / 4);
        size = final / 4 + (final / 8) / 512 * 512;
        p = grow(p, final / 4, size, 512);
        break;
      case 2:
        p = grow(NULL, 0, final, 512);
        p = resize(p, 5000);
        size = final / 2;
        p = grow(p, 5000, size, 1000);
        size = 5000 + (size - 5000) / 1000 * 1000;
        break;
      default:
        p = malloc(final / 2);
        if (p == NULL) exit(2);
        p = grow(p, final / 2, final, 4096);
        size = final / 2 + (final - final / 2) / 4096 * 4096;
        break;
    }
    if (i % 4 == 0) size = final / 64 * 64;
    keep[i] = p;
    kept_size[i] = size;
  }
}

int main(void) {
  grow_buffers();
  unsigned long long bytes = 0;
  for (int i = 0; i < BUFFERS; ++i) {
    if (keep[i][kept_size[i] - 1] != 1) return 1;
    bytes += kept_size[i];
  }
  printf("%d %llu\n", BUFFERS, bytes);
  return 0;
}
