/* Small blocks grown once by realloc and freed, as a parser that reads a
   record into a small buffer and grows it to the record's size does:
   realloc_small N LO SPAN. Each block is 64-2,063 bytes, then LO to
   LO + SPAN - 1 bytes, its last byte written, then freed. The allocator
   grows most of them in place at the heap's top; anything a tracker holds
   there makes every one move (a copy, and the heap's top walks). */
#include "pattern.h"

int main(int argc, char** argv) {
  const long n = pattern_arg(argc, argv, 1, 1000000);
  const long lo = pattern_arg(argc, argv, 2, 5000);
  const long span = pattern_arg(argc, argv, 3, 20000);
  unsigned long long state = 88172645463325252ULL;
  const double start = pattern_now();
  for (long i = 0; i < n; ++i) {
    const unsigned long long x = pattern_random(&state);
    char* p = malloc(64 + x % 2000);
    if (!p) pattern_die("malloc");
    p[0] = 1;
    const size_t size = (size_t)lo + (x >> 20) % (unsigned long long)span;
    p = realloc(p, size);
    if (!p) pattern_die("realloc");
    p[size - 1] = 2;
    pattern_sink = p;
    free(p);
  }
  pattern_report(start);
  return 0;
}
