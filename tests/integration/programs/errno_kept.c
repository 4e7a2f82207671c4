/* errno across hooked calls that succeed: each must leave errno as the
   program set it, from the first call on (the first unwind, the first
   descriptor, the first mapping) and across the stacks of several depths
   the unwind cache sees. Prints "changed N" and exits 1 when some call
   changed it, "kept" and exits 0 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int changed;

#define KEEP(expr)                                                                  \
  do {                                                                              \
    errno = 4242;                                                                   \
    expr;                                                                           \
    if (errno != 4242) {                                                            \
      if (changed++ < 5) printf("%s changed errno to %d (%s)\n", #expr, errno, strerror(errno)); \
    }                                                                               \
  } while (0)

static void* volatile sink;

__attribute__((noinline)) static void round_of_calls(int i) {
  void* p;
  KEEP(p = malloc(100 + (size_t)i * 37));
  KEEP(free(p));
  KEEP(p = calloc(10, 100 + (size_t)i));
  KEEP(p = realloc(p, 5000 + (size_t)i));
  KEEP(free(p));
  KEEP(p = aligned_alloc(256, 1024));
  KEEP(free(p));
  KEEP(p = malloc(1 << 20));
  sink = p;
  KEEP(free(p));
  int fd;
  KEEP(fd = open("/dev/null", O_RDONLY));
  KEEP(close(fd));
  void* m;
  KEEP(m = mmap(0, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  KEEP(munmap(m, 8192));
}

__attribute__((noinline)) static void deeper(int depth, int i) {
  if (depth == 0) {
    round_of_calls(i);
    return;
  }
  deeper(depth - 1, i);
  __asm__ volatile("" ::: "memory"); /* not a tail call */
}

int main(void) {
  for (int i = 0; i < 2000; ++i) deeper(i % 7, i);
  if (changed) {
    printf("changed %d\n", changed);
    return 1;
  }
  printf("kept\n");
  return 0;
}
