/* A service whose sampled heap has the two shapes a trend must tell apart
   (bench/trend_soak.sh):
   - leak_record: 1 KiB a request, kept for good (a leak, ~1 MiB/s);
   - cache_store: 512 bytes a request into a ring of 20,000 entries, each
     new one freeing the oldest once the ring is full (after ~20 s): flat at
     about 9.8 MiB from then on, its blocks live for ~20 snapshots;
   and 8 KiB of scratch allocated and freed per request.
   About 1,000 requests a second, for SECONDS.

   usage: flat_cache_service SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING 20000

static void* ring[RING];
static unsigned long ring_next;
static void** records;
static unsigned long record_count, record_room;

__attribute__((noinline)) void leak_record(void) {
  void* p = malloc(1024);
  if (p == NULL) exit(2);
  memset(p, 1, 1024);
  if (record_count == record_room) {
    record_room = record_room ? record_room * 2 : 1024;
    records = realloc(records, record_room * sizeof *records);
    if (records == NULL) exit(2);
  }
  records[record_count++] = p;
}

__attribute__((noinline)) void cache_store(void) {
  void* p = malloc(512);
  if (p == NULL) exit(2);
  memset(p, 2, 512);
  const unsigned long slot = ring_next++ % RING;
  free(ring[slot]);
  ring[slot] = p;
}

__attribute__((noinline)) void scratch(void) {
  char* volatile q = malloc(8192);
  if (q == NULL) exit(2);
  memset(q, 3, 8192);
  free(q);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? atof(argv[1]) : 60;
  const double start = now();
  unsigned long requests = 0;
  while (now() - start < seconds) {
    leak_record();
    cache_store();
    scratch();
    ++requests;
    usleep(1000);
  }
  printf("served %lu requests, kept %lu records\n", requests, record_count);
  return 0;
}
