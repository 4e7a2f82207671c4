/* A buffer grown by realloc in STEP-byte steps to MAX bytes, then shrunk in
   STEP-byte steps back to STEP, every byte checked. Like redis, it writes
   all of malloc_usable_size after each realloc. Exits 1 on the first lost
   byte; an alarm turns a pathological slowdown (a whole-block copy on every
   call: minutes) into a failure (exit 128 + SIGALRM) instead of a hang.
   Usage: realloc_steps STEP MAX [DEADLINE_SECONDS [leak]]
   With "leak", the buffer is grown back to MAX bytes at the end and kept:
   a leak of MAX bytes allocated in main. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned char Pattern(size_t k) { return (unsigned char)(k * 131 + (k >> 12)); }

static int Check(const unsigned char* p, size_t from, size_t to, const char* what) {
  for (size_t k = from; k < to; ++k)
    if (p[k] != Pattern(k)) {
      printf("%s: byte %zu of %zu lost\n", what, k, to);
      return 1;
    }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const size_t step = strtoul(argv[1], NULL, 10);
  const size_t max = strtoul(argv[2], NULL, 10);
  alarm(argc > 3 ? (unsigned)atoi(argv[3]) : 60);
  unsigned char* p = NULL;
  size_t written = 0;  // bytes [0, written) hold the pattern
  for (size_t size = step; size <= max; size += step) {
    unsigned char* q = realloc(p, size);
    if (q == NULL) return 3;
    p = q;
    if (written > size) written = size;
    const size_t usable = malloc_usable_size(p);
    if (usable < size) return 4;
    if (Check(p, written > step ? written - step : 0, written, "grow")) return 1;
    for (size_t k = written; k < usable; ++k) p[k] = Pattern(k);
    written = usable;
  }
  if (Check(p, 0, max, "grown")) return 1;
  for (size_t size = max; size >= step; size -= step) {
    unsigned char* q = realloc(p, size);
    if (q == NULL) return 3;
    p = q;
    if (written > size) written = size;
    if (Check(p, written > step ? written - step : 0, written, "shrink")) return 1;
    if ((size / step) % 1024 == 0 && Check(p, 0, written, "shrunk")) return 1;
  }
  if (argc > 4 && argv[4][0] == 'l') {
    p = realloc(p, max);
    if (p == NULL) return 3;
    /* write(), not printf: stdio's buffer would be a second block leaked in main. */
    return write(1, "leaked\n", 7) == 7 ? 0 : 5;
  }
  p = realloc(p, 0);  /* glibc: frees, returns NULL */
  free(p);
  printf("ok\n");
  return 0;
}
