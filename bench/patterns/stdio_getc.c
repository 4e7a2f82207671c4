/* A single-threaded program reading byte by byte through stdio:
   stdio_getc N [SLEEP] reads N bytes of /dev/zero by getc after 150 ms
   spent in a sleep (SLEEP 1, the default) or in its own work (SLEEP 0,
   then a descriptor opened and closed: a tracked event).
   glibc's stdio skips each call's FILE lock while a process has only ever
   had one thread. leaktrace's dumper thread starts before a sleep (a wait
   a signal would cut short) and ends that for good; a program of one
   thread that only runs keeps its one thread, past 100 ms too. What a
   process pays for the thread, in the C library's own paths. */
#include <fcntl.h>
#include <unistd.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long n = pattern_arg(argc, argv, 1, 200000000);
  const long sleeps = pattern_arg(argc, argv, 2, 1);
  FILE* f = fopen("/dev/zero", "r");
  if (!f) pattern_die("fopen /dev/zero");
  if (sleeps) {
    usleep(150 * 1000);
  } else {
    const double until = pattern_now() + 0.15;
    while (pattern_now() < until) {
    }
    const int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) pattern_die("open /dev/null");
    close(fd);
  }
  const double start = pattern_now();
  long sum = 0;
  for (long i = 0; i < n; ++i) sum += getc(f);
  pattern_report(start);
  fclose(f);
  return sum == 0 ? 0 : 1;
}
