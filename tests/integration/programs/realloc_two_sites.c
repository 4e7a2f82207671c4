/* One buffer grown by realloc in 64-byte steps at two call sites: to
   512 KiB in grow_here, then by 4 KiB more in grow_there (steps that stay
   within the headroom a sampled block has then), and kept. Every realloc
   is booked at its own stack, so the live block belongs to grow_there
   alone. Prints nothing; exits 1 if a byte was lost. */
#include <stdlib.h>
#include <string.h>

static char* keep;

static char* grow(char* p, size_t from, size_t to) {
  for (size_t size = from + 64; size <= to; size += 64) {
    p = realloc(p, size);
    if (p == NULL) exit(2);
    memset(p + size - 64, (int)(size >> 6), 64);
  }
  return p;
}

__attribute__((noinline)) char* grow_here(char* p, size_t from, size_t to) {
  p = grow(p, from, to);
  __asm__ volatile("" ::: "memory");  /* keep the frame: no tail call */
  return p;
}

__attribute__((noinline)) char* grow_there(char* p, size_t from, size_t to) {
  p = grow(p, from, to);
  __asm__ volatile("" ::: "memory");
  return p;
}

int main(void) {
  char* p = grow_here(NULL, 0, 512 * 1024);
  p = grow_there(p, 512 * 1024, 516 * 1024);
  for (size_t size = 64; size <= 516 * 1024; size += 64)
    if (p[size - 1] != (char)(size >> 6)) return 1;
  keep = p;
  return 0;
}
