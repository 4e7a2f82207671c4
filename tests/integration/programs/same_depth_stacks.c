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

/* A crowd: CROWD more chains in turn at that position, far more than a set
   of the cache holds (8 ways), so that its overflow ways take them. */
#define CROWD 24
#define CROWD_ROUTE(n) \
  __attribute__((noinline)) void crowd_##n(size_t size) { common_alloc(size); __asm__ volatile(""); }
CROWD_ROUTE(00) CROWD_ROUTE(01) CROWD_ROUTE(02) CROWD_ROUTE(03) CROWD_ROUTE(04) CROWD_ROUTE(05)
CROWD_ROUTE(06) CROWD_ROUTE(07) CROWD_ROUTE(08) CROWD_ROUTE(09) CROWD_ROUTE(10) CROWD_ROUTE(11)
CROWD_ROUTE(12) CROWD_ROUTE(13) CROWD_ROUTE(14) CROWD_ROUTE(15) CROWD_ROUTE(16) CROWD_ROUTE(17)
CROWD_ROUTE(18) CROWD_ROUTE(19) CROWD_ROUTE(20) CROWD_ROUTE(21) CROWD_ROUTE(22) CROWD_ROUTE(23)
static void (*const crowd[CROWD])(size_t) = {
    crowd_00, crowd_01, crowd_02, crowd_03, crowd_04, crowd_05, crowd_06, crowd_07, crowd_08, crowd_09, crowd_10, crowd_11,
    crowd_12, crowd_13, crowd_14, crowd_15, crowd_16, crowd_17, crowd_18, crowd_19, crowd_20, crowd_21, crowd_22, crowd_23};

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
      /* The crowd, each route twice in a row now and then, so that the set
         fills, then overflows, then learns every chain that misses. */
      for (int r = 0; r < CROWD; ++r) crowd[r](32);
    }
  }
  checkpoint("after");
  return 0;
}
