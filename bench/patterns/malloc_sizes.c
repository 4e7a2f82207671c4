/* Blocks of random sizes up to MAX bytes, each allocated, its first byte
   written, and freed: malloc_sizes N MAX. At MAX 200,000 the mean block is
   100 KB, so at the default sampling interval about a fifth of them are
   samples: what a sample costs, start to end, at a rate no churn of small
   blocks reaches. */
#include "pattern.h"

int main(int argc, char** argv) {
  const long n = pattern_arg(argc, argv, 1, 1000000);
  const long max = pattern_arg(argc, argv, 2, 200000);
  unsigned long long state = 88172645463325252ULL;
  const double start = pattern_now();
  for (long i = 0; i < n; ++i) {
    const unsigned long long x = pattern_random(&state);
    char* p = malloc(1 + x % (unsigned long long)max);
    if (!p) pattern_die("malloc");
    p[0] = 1;
    pattern_sink = p;
    free(p);
  }
  pattern_report(start);
  return 0;
}
