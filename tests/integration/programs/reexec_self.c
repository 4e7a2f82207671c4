/* A program that executes itself again under the same pid, as haproxy's
   master does on a reload (run_trend_test.cc): the first image allocates
   and waits 3.5 s, then execs itself with the argument "again", which
   allocates and waits 3.5 s more and exits. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void keep_allocating(void) {
  for (int tick = 0; tick < 35; ++tick) {
    memset(malloc(4096), 1, 4096);
    const struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
}

int main(int argc, char** argv) {
  keep_allocating();
  if (argc == 1) {
    char* again[] = {argv[0], "again", NULL};
    execv(argv[0], again);
    return 2;
  }
  return 0;
}
