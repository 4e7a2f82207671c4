/* Writes two bytes past a 100-byte block and frees it, then prints
   "survived" (preload_order_test.cc): under glibc's malloc checking
   (MALLOC_CHECK_=3 with libc_malloc_debug.so preloaded) the free aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char* p = malloc(100);
  volatile char* bytes = p;  /* stores the compiler may not drop before the free */
  strcpy(p, "x");
  bytes[100] = 'Z';
  bytes[101] = 'Z';
  free(p);
  puts("survived");
  return 0;
}
