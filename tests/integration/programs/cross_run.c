/* cross_run_test.cc's program, run twice: it leaks argv[1] blocks from
   leak_requests and argv[2] blocks from leak_sessions, then stops at
   checkpoint "leaked" for a snapshot. Two runs are two processes with
   their own (ASLR) load addresses; `leaktrace diff` must still match their
   call sites. */
#include <stdlib.h>
#include <string.h>

#include "step_protocol.h"

#define REQUEST_SIZE 96
#define SESSION_SIZE 40

static void* volatile kept[4096];
static int kept_count;

__attribute__((noinline)) void leak_requests(int n) {
  for (int i = 0; i < n && kept_count < 4096; ++i) {
    char* p = malloc(REQUEST_SIZE);
    memset(p, 'r', REQUEST_SIZE);
    kept[kept_count++] = p;
  }
}

__attribute__((noinline)) void leak_sessions(int n) {
  for (int i = 0; i < n && kept_count < 4096; ++i) {
    char* p = calloc(1, SESSION_SIZE);
    kept[kept_count++] = p;
  }
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  leak_requests(atoi(argv[1]));
  leak_sessions(atoi(argv[2]));
  checkpoint("leaked");
  return 0;
}
