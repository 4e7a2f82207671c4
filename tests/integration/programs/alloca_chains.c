/* Two call chains that the unwind cache could take for each other: frames
   of dynamic size (alloca) break its argument that each frame follows from
   the one below (unwind_cache_test.cc). main calls through_p P_ROUNDS times, then
   through_q ROUNDS times, through one function pointer (one call site).
   (call_through). Each allocas a different amount and calls dynamic(), which allocas the
   complement, so leaf() allocates at the same stack depth in both chains
   (through_p runs P_ROUNDS times, so the cache learns its chain however
   full the cache is there);
   and the slot where the first chain kept its return address into
   through_p lies, in the second chain, inside dynamic()'s alloca area,
   untouched, still holding that address. Every leaf() leaks 48 bytes.
   Checkpoints "before" and "after" around the calls. */
#include <alloca.h>
#include <stdlib.h>

#include "step_protocol.h"

#define P_ROUNDS 3
#define ROUNDS 5000

static void* volatile sink;

__attribute__((noinline)) void leaf(void) { sink = malloc(48); }

__attribute__((noinline)) void dynamic(size_t n) {
  volatile char* p = alloca(n);
  p[0] = 1;
  leaf();
  __asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((noinline)) void through_p(void) {
  volatile char* p = alloca(256);
  p[0] = 1;
  dynamic(64);
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void through_q(void) {
  volatile char* p = alloca(64);
  p[0] = 1;
  dynamic(256);
  __asm__ volatile("" ::: "memory");
}

/* The one call site of both chains: the same return address above them. */
__attribute__((noinline)) void call_through(void (*fn)(void)) {
  fn();
  __asm__ volatile("" ::: "memory");
}

int main(void) {
  void (*const chains[2])(void) = {through_p, through_q};
  volatile int round = 0;
  checkpoint("before");
  while (round < P_ROUNDS + ROUNDS) {
    call_through(chains[round >= P_ROUNDS]);
    round = round + 1;
  }
  checkpoint("after");
  return 0;
}
