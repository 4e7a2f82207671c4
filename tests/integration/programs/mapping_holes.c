/* A program that unmaps a region of its own page by page, in random order,
   and then maps every page back at its old address, as stress-ng --mmap does
   (and an allocator releasing and retaking its own ranges). Each page is
   mapped back with MAP_FIXED_NOREPLACE, which fails with EEXIST on a page
   something else took meanwhile; without leaktrace nothing does, and with
   it nothing may: a MAP_FIXED there would overwrite leaktrace's tables.
   Prints "taken T of N" and exits 0 (1 on another failure).
   Usage: mapping_holes MIB */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(int argc, char** argv) {
  const size_t page = 4096, pages = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 8;
  size_t* order = malloc(pages * sizeof *order);
  char* region = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (order == NULL || region == MAP_FAILED) return 1;
  for (size_t i = 0; i < pages; ++i) order[i] = i;
  srand(1);
  for (size_t i = pages - 1; i > 0; --i) {
    const size_t j = (size_t)rand() % (i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (size_t i = 0; i < pages; ++i)
    if (munmap(region + order[i] * page, page) != 0) return 1;
  size_t taken = 0;
  for (size_t i = 0; i < pages; ++i) {
    char* want = region + i * page;
    char* p = mmap(want, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED && errno == EEXIST) {
      ++taken;
      continue;
    }
    if (p != want) return 1;  /* a kernel without MAP_FIXED_NOREPLACE: a hint elsewhere */
    p[0] = 1;
  }
  printf("taken %zu of %zu\n", taken, pages);
  return 0;
}
