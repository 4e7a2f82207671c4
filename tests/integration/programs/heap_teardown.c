/* A program that builds 100 MB of blocks of SIZE bytes and frees them all,
   last first (CPython dropping a big list; any stack-like teardown):
   heap_teardown HOW SIZE. Plainly each freed block joins the heap's top
   and glibc trims it, so the heap ends as small as it began. Anything the
   library keeps in the program's heap above the program's blocks pins it.

   HOW: "free" frees at once; "timeout" first spends 150 ms computing (past
   the library's first 100 ms, no call it tracks), builds, gives a socket a
   receive timeout (a wait a signal would cut short: the library starts
   its thread before it), then frees.

   Prints "heap_kib N rss_kib M threads T": glibc's heap span after the
   frees (mallinfo2's arena), the resident set and the process's threads. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

// A figure of /proc/self/status ("VmRSS:", "Threads:"), -1 if none.
static long StatusFigure(const char* key) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long value = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, strlen(key)) == 0) value = atol(line + strlen(key));
  if (f) fclose(f);
  return value;
}

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const int timeout = strcmp(argv[1], "timeout") == 0;
  const size_t size = (size_t)atol(argv[2]);
  if (size == 0 || (!timeout && strcmp(argv[1], "free") != 0)) return 2;
  const size_t count = (size_t)100000000 / size;
  char** blocks = malloc(count * sizeof *blocks);
  if (blocks == NULL) return 2;
  if (timeout) {
    const double start = Now();
    while (Now() - start < 0.15) {
    }
  }
  for (size_t i = 0; i < count; ++i) {
    blocks[i] = malloc(size);
    if (blocks[i] == NULL) return 2;
    memset(blocks[i], 1, size);
  }
  if (timeout) {
    const int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = {1, 0};
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) return 2;
    close(s);
  }
  for (size_t i = count; i-- > 0;) free(blocks[i]);
  free(blocks);
  const struct mallinfo2 m = mallinfo2();
  printf("heap_kib %zu rss_kib %ld threads %ld\n", m.arena / 1024, StatusFigure("VmRSS:"), StatusFigure("Threads:"));
  return 0;
}
