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
   Checkpoints "before" and "after" around the calls.
   With the argument "fork", the chains run in fork children instead, one
   child after another (each exits with its leak; LEAKTRACE_ON_EXIT=all):
   FORK_TEACHERS children run through_p, whose chain the parent then learns
   from them (unwind_cache.cc, "Lessons"); each of the FORK_CHILDREN after
   them runs through_p without allocating (which leaves the stale slot) and
   then through_q, which allocates. */
#include <alloca.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "step_protocol.h"

#define P_ROUNDS 3
#define ROUNDS 5000
#define FORK_TEACHERS 3
#define FORK_CHILDREN 20

static void* volatile sink;
static volatile int allocate = 1;

__attribute__((noinline)) void leaf(void) {
  if (allocate) sink = malloc(48);
}

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

static int fork_children(void) {
  sink = malloc(16); /* the parent's own tracked work, before its children */
  for (int i = 0; i < FORK_TEACHERS + FORK_CHILDREN; ++i) {
    const pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      /* One call site for both chains, as in main. */
      void (*const chains[2])(void) = {through_p, through_q};
      const int steps = i < FORK_TEACHERS ? 1 : 2;
      for (volatile int k = 0; k < steps; k = k + 1) {
        allocate = steps == 1 || k == 1;
        call_through(chains[k]);
      }
      exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 3;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "fork") == 0) return fork_children();
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
