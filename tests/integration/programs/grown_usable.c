/* Buffers grown by realloc in 64-byte steps to each size given (rounded
   down to a step), then shrunk by a quarter and by a half of it: prints
   what malloc_usable_size says after each, one line per resize ("SIZE
   USABLE FRESH", FRESH the least that eight blocks just malloc'ed at that
   size have), so
   that a run under leaktrace can be compared line by line with a plain
   run. Every byte of the
   usable size is written, as redis does, and checked after the next realloc.
   Usage: grown_usable SIZE... (each below glibc's mmap threshold, 128 KiB,
   where a plain block's usable size follows from its size alone). */
#include <malloc.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

static unsigned char* resize(unsigned char* p, size_t size, size_t* written) {
  unsigned char* q = realloc(p, size);
  if (q == NULL) exit(3);
  if (*written > size) *written = size;
  for (size_t k = 0; k < *written; ++k)
    if (q[k] != (unsigned char)(k * 7)) exit(1);
  const size_t usable = malloc_usable_size(q);
  for (size_t k = 0; k < usable; ++k) q[k] = (unsigned char)(k * 7);
  *written = usable;
  return q;
}

static void report(size_t size, const unsigned char* p) {
  void* fresh[8];
  size_t least = SIZE_MAX;
  for (int i = 0; i < 8; ++i) {
    if ((fresh[i] = malloc(size)) == NULL) exit(3);
    const size_t usable = malloc_usable_size(fresh[i]);
    if (usable < least) least = usable;
  }
  printf("%zu %zu %zu\n", size, malloc_usable_size((void*)p), least);
  for (int i = 0; i < 8; ++i) free(fresh[i]);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const size_t target = strtoul(argv[i], NULL, 10);
    unsigned char* p = NULL;
    size_t written = 0;
    size_t size = 64;
    for (; size <= target; size += 64) p = resize(p, size, &written);
    report(size - 64, p);
    p = resize(p, target - target / 4, &written);
    report(target - target / 4, p);
    p = resize(p, target / 2, &written);
    report(target / 2, p);
    free(p);
  }
  return 0;
}
