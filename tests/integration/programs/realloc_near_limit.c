/* A buffer grown by realloc in 1 MiB steps to 90 MiB under an address-space
   limit (RLIMIT_AS) 91 MiB above what the process had mapped at its start:
   plainly each step needs its own MiB more and no more, so every realloc
   succeeds. A tracker that asks the real allocator for headroom must still
   get the program its block when the headroom is refused. Prints "ok", or
   the step that failed and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static size_t MappedBytes(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (f == NULL || fscanf(f, "%lu", &pages) != 1) exit(2);
  fclose(f);
  return pages * 4096;
}

int main(void) {
  const size_t mib = 1 << 20;
  struct rlimit limit = {MappedBytes() + 91 * mib, RLIM_INFINITY};
  if (setrlimit(RLIMIT_AS, &limit) != 0) return 2;
  char* p = NULL;
  for (size_t size = mib; size <= 90 * mib; size += mib) {
    char* q = realloc(p, size);
    if (q == NULL) {
      printf("realloc to %zu MiB failed\n", size / mib);
      return 1;
    }
    p = q;
    p[size - 1] = 1;
  }
  free(p);
  printf("ok\n");
  return 0;
}
