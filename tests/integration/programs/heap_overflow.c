/* Writes two bytes past each of eight 100-byte blocks and frees it, then
   prints "survived" (preload_order_test.cc): under glibc's malloc checking
   (MALLOC_CHECK_=3 with libc_malloc_debug.so preloaded) a free aborts. Its
   check byte depends on the block's address, and equals the 'Z' written one
   time in 256: eight blocks leave one run in 2^64 unchecked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char* blocks[8];  /* all live at once: eight addresses, eight check bytes */
  for (int i = 0; i < 8; ++i) {
    blocks[i] = malloc(100);
    volatile char* bytes = blocks[i];  /* stores the compiler may not drop before the free */
    strcpy(blocks[i], "x");
    bytes[100] = 'Z';
    bytes[101] = 'Z';
  }
  for (int i = 0; i < 8; ++i) free(blocks[i]);
  puts("survived");
  return 0;
}
