/* A program that locks all its memory, present and future, as real-time and
   security-sensitive services do (mlockall(MCL_CURRENT | MCL_FUTURE) first
   thing in main), then allocates and frees about 64 MiB in blocks of 1 to
   64 KiB, and prints how much of it is locked, in kB ("VmLck" of
   /proc/self/status). Under leaktrace, the locked memory may grow by what
   leaktrace uses, not by what it merely reserves. Exit 77 when the
   process may not lock its memory (no CAP_IPC_LOCK, RLIMIT_MEMLOCK). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) return 77;
  void* held[64] = {0};
  for (unsigned i = 0; i < 4096; ++i) {
    const unsigned slot = (i * 2654435761u) % 64;
    free(held[slot]);
    held[slot] = malloc(1024 + (i * 7919u) % (63 * 1024));
    memset(held[slot], 1, 64);
  }
  for (int i = 0; i < 64; ++i) free(held[i]);
  FILE* status = fopen("/proc/self/status", "r");
  char line[256];
  while (status != NULL && fgets(line, sizeof line, status) != NULL)
    if (strncmp(line, "VmLck:", 6) == 0) printf("%ld\n", strtol(line + 6, NULL, 10));
  return 0;
}
