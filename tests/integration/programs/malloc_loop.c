/* 20,000 blocks of 1,000-3,999 bytes, each written and freed, then "ok"
   (preload_order_test.cc: an allocator after the library without a
   malloc_usable_size of its own). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  for (int i = 0; i < 20000; ++i) {
    char* volatile p = malloc(1000 + i % 3000);
    if (p == NULL) return 2;
    p[0] = 1;
    free(p);
  }
  puts("ok");
  return 0;
}
