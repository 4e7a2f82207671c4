/* A program that fills each block up to its malloc_usable_size before it
   reallocs, as redis's listpacks and sds strings do: 5000 buffers grown in
   200-byte steps to 7000 bytes, every one kept (sampling_accuracy_test.cc).
   How often it reallocs depends on what malloc_usable_size says, so a
   sampled block must say what a plain one would. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFFERS 5000
#define FINAL 7000
#define STEP 200

static char* keep[BUFFERS];

__attribute__((noinline)) void grow_like_a_listpack(void) {
  for (int i = 0; i < BUFFERS; ++i) {
    size_t len = STEP;
    char* p = malloc(len);
    if (p == NULL) exit(2);
    memset(p, 1, len);
    while (len < FINAL) {
      const size_t need = len + STEP;
      if (need > malloc_usable_size(p) && (p = realloc(p, need)) == NULL) exit(2);
      memset(p + len, 2, STEP);
      len = need;
    }
    keep[i] = p;
  }
}

int main(void) {
  grow_like_a_listpack();
  for (int i = 0; i < BUFFERS; ++i)
    if (keep[i][0] != 1 || keep[i][FINAL - 1] != 2) return 1;
  printf("ok\n");
  return 0;
}
