/* A single-threaded program reading byte by byte through stdio, after a
   wait: stdio_getc N reads N bytes of /dev/zero by getc after a 150 ms
   sleep. glibc's stdio skips each call's FILE lock while a process has
   only ever had one thread; leaktrace's dumper thread, which starts at that
   sleep (the process is past 100 ms), ends that for good. What a process
   pays for the thread, in the C library's own paths. */
#include <unistd.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long n = pattern_arg(argc, argv, 1, 200000000);
  FILE* f = fopen("/dev/zero", "r");
  if (!f) pattern_die("fopen /dev/zero");
  usleep(150 * 1000);
  const double start = pattern_now();
  long sum = 0;
  for (long i = 0; i < n; ++i) sum += getc(f);
  pattern_report(start);
  fclose(f);
  return sum == 0 ? 0 : 1;
}
