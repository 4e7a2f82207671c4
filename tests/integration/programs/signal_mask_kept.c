/* The program's signal mask is its own whenever leaktrace hands control back:
   after allocations whose stacks leaktrace has to unwind afresh (it blocks
   every signal around that work, preload/internal/signals_blocked.h), and
   when the program itself asks to block every signal (that request must
   really block them, not be mistaken for leaktrace's own).

   Blocks SIGUSR1 and SIGWINCH, allocates through many distinct call chains
   (every one a new stack to unwind), checks the mask after every allocation
   and, now and then, against the kernel's own view (/proc/self/status
   SigBlk). Prints "ok" and exits 0, or says what differed and exits 1. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sigset_t expected;
static int failures;

static unsigned long long KernelBlocked(void) {
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return ~0ULL;
  char line[256];
  unsigned long long mask = ~0ULL;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "SigBlk: %llx", &mask) == 1) break;
  fclose(f);
  return mask;
}

/* The signals of a set that a mask can hold: not SIGKILL or SIGSTOP, nor
   the two glibc keeps for itself (32 and 33). */
static unsigned long long Bits(const sigset_t* set) {
  unsigned long long bits = 0;
  for (int sig = 1; sig <= 64; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP && sig != 32 && sig != 33 && sigismember(set, sig) == 1)
      bits |= 1ULL << (sig - 1);
  return bits;
}

static void Check(const char* where, int i) {
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  if (Bits(&now) != Bits(&expected)) {
    if (failures++ < 5) fprintf(stderr, "%s %d: mask %llx, expected %llx\n", where, i, Bits(&now), Bits(&expected));
  }
}

static void CheckKernel(const char* where, unsigned long long want) {
  const unsigned long long got = KernelBlocked() & ~(3ULL << 31);
  if (got != want) {
    if (failures++ < 5) fprintf(stderr, "%s: kernel SigBlk %llx, expected %llx\n", where, got, want);
  }
}

__attribute__((noinline)) static void* Leaf(int i) {
  void* p = malloc(16 + (size_t)(i % 200));
  Check("after malloc", i);
  return p;
}

__attribute__((noinline)) static void* Left(int depth, int i);
__attribute__((noinline)) static void* Right(int depth, int i);

__attribute__((noinline)) static void* Left(int depth, int i) {
  if (depth == 0) return Leaf(i);
  void* p = ((i >> depth) & 1) ? Left(depth - 1, i) : Right(depth - 1, i);
  __asm__ volatile("" ::: "memory");  // no tail call: each level is a frame
  return p;
}

__attribute__((noinline)) static void* Right(int depth, int i) {
  if (depth == 0) return Leaf(i + 1);
  void* p = ((i >> depth) & 1) ? Right(depth - 1, i) : Left(depth - 1, i);
  __asm__ volatile("" ::: "memory");
  return p;
}

int main(void) {
  sigemptyset(&expected);
  sigaddset(&expected, SIGUSR1);
  sigaddset(&expected, SIGWINCH);
  sigprocmask(SIG_SETMASK, &expected, NULL);
  for (int i = 0; i < 4000; ++i) {
    free(Left(i % 12, i));  // up to 2^12 distinct chains: most are new stacks
    if (i % 500 == 0) CheckKernel("during the allocations", Bits(&expected));
  }
  /* The program's own request to block everything is carried out. */
  sigset_t all, before, own = expected;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &before);
  if (Bits(&before) != Bits(&own)) {
    ++failures;
    fprintf(stderr, "old mask %llx, expected %llx\n", Bits(&before), Bits(&own));
  }
  expected = all;
  CheckKernel("after blocking everything", Bits(&all));
  for (int i = 0; i < 200; ++i) free(Left(i % 12, 7 * i + 1));
  CheckKernel("allocating with everything blocked", Bits(&all));
  expected = own;
  sigprocmask(SIG_SETMASK, &expected, NULL);
  for (int i = 0; i < 200; ++i) free(Left(i % 12, 11 * i + 3));
  CheckKernel("at the end", Bits(&expected));
  if (failures) return 1;
  puts("ok");
  return 0;
}
