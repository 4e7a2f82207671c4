/* A program built with a sanitizer (tests/integration/CMakeLists.txt builds
   it twice: -fsanitize=thread and -fsanitize=address, each runtime gcc's
   shared one): allocates 40 blocks of 1000 bytes it keeps and prints
   "kept 40" (transparency_test.cc). Its runtime's start-up allocates
   before its interceptors work, and ThreadSanitizer's stops a program
   whose memory lies outside its map of where memory may be. */
#include <stdio.h>
#include <stdlib.h>

void* kept[40];  /* reachable to the end: no leak for LeakSanitizer */

int main(void) {
  int n = 0;
  for (; n < 40; ++n) {
    kept[n] = malloc(1000);
    if (kept[n] == NULL) return 2;
  }
  printf("kept %d\n", n);
  return 0;
}
