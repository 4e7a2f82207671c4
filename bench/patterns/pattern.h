/* What every pattern program shares: a monotonic clock around the work, so
   the report can tell the pattern's own cost from the process's start-up and
   exit (which the do-nothing pattern measures on its own), and a sink the
   compiler cannot see through, so no allocation is optimised away. */
#ifndef LEAKTRACE_BENCH_PATTERN_H
#define LEAKTRACE_BENCH_PATTERN_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void* volatile pattern_sink;

static inline double pattern_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Numeric argument i, or the default when absent. */
static inline long pattern_arg(int argc, char** argv, int i, long fallback) {
  return argc > i ? strtol(argv[i], NULL, 0) : fallback;
}

/* The next of a fixed sequence of pseudo-random numbers (xorshift64), the
   same in every run and under every library: sizes and slots chosen without
   a library call. `state` must not start at 0. */
static inline unsigned long long pattern_random(unsigned long long* state) {
  unsigned long long x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

/* The one line scripts/bench.sh reads: seconds spent in the pattern. */
static inline void pattern_report(double start) { printf("work_s %.6f\n", pattern_now() - start); }

static inline void pattern_die(const char* what) {
  perror(what);
  exit(1);
}

#endif
