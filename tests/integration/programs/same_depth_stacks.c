/* For the unwind cache: many allocations reach malloc at the same stack
   depth (same stack pointer) through different call chains, more chains
   than the cache keeps per position, and a recursion allocates at several
   depths. Every allocation must be charged to its own chain. Keep the
   constants in step with unwind_cache_test.cc. */
#include <stdlib.h>

#include "step_protocol.h"

static void* volatile kept[100000];
static int kept_count;

__attribute__((noinline)) void common_alloc(size_t size) { kept[kept_count++] = malloc(size); }

/* Same frame shape, so common_alloc runs at the same stack pointer. */
__attribute__((noinline)) void route_a(size_t size) { common_alloc(size); __asm__ volatile(""); }
__attribute__((noinline)) void route_b(size_t size) { common_alloc(size); __asm__ volatile(""); }
__attribute__((noinline)) void route_c(size_t size) { common_alloc(size); __asm__ volatile(""); }
__attribute__((noinline)) void route_d(size_t size) { common_alloc(size); __asm__ volatile(""); }
__attribute__((noinline)) void route_e(size_t size) { common_alloc(size); __asm__ volatile(""); }
__attribute__((noinline)) void route_f(size_t size) { common_alloc(size); __asm__ volatile(""); }
__attribute__((noinline)) void route_g(size_t size) { common_alloc(size); __asm__ volatile(""); }
__attribute__((noinline)) void route_h(size_t size) { common_alloc(size); __asm__ volatile(""); }

__attribute__((noinline)) void recurse(int depth) {
  if (depth == 0) {
    common_alloc(40);
    return;
  }
  recurse(depth - 1);
  __asm__ volatile("");
}

int main(void) {
  checkpoint("before");
  for (int i = 0; i < 3000; ++i) {
    /* A B A, so the cache keeps seeing one position with alternating chains. */
    route_a(24);
    if (i % 2 == 0) route_b(24);
    recurse(i % 6);
    if (i < 600) {
      /* Eight chains in turn at one position: more than it keeps. route_e
         comes twice in a row, so it is learned over an older chain. */
      route_c(24);
      route_d(24);
      route_e(24);
      route_e(24);
      route_f(24);
      route_g(24);
      route_h(24);
    }
  }
  checkpoint("after");
  return 0;
}
