/* A program whose executable defines malloc, free, calloc and realloc itself
   (a static allocator, as chromium's PartitionAlloc or a Rust program built
   with its own allocator): no LD_PRELOAD order puts leaktrace in front of
   it (preload_order_test.cc). Prints "ok". */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static _Alignas(16) char pool[1 << 24];
static size_t used;

void* malloc(size_t n) {
  if (n > sizeof pool - used) return NULL;
  void* p = pool + used;
  used += (n + 15) & ~(size_t)15;
  return p;
}
void free(void* p) { (void)p; }
void* calloc(size_t a, size_t b) {
  void* p = malloc(a * b);
  if (p) memset(p, 0, a * b);
  return p;
}
void* realloc(void* p, size_t n) {
  void* q = malloc(n);
  if (p && q) memcpy(q, p, n);
  return q;
}

int main(void) {
  puts("ok");
  return 0;
}
