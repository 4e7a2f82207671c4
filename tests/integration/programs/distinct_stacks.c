/* A program whose allocations come from ever-new call stacks: each call
   walks a random path (fixed seed) through a call tree DEPTH levels deep,
   four ways at each level, and allocates 64 bytes at the leaf
   (leaf_alloc), keeping every KEEP-th block and freeing the others at once.
   A recursive-descent parser or an interpreter on varied input looks so to
   the tracker (stack_budget_test.cc).
     distinct_stacks CALLS KEEP [DEPTH]   prints "kept N" and exits */
#include <stdio.h>
#include <stdlib.h>

static unsigned long long rng = 88172645463325252ULL;
static unsigned next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)rng;
}

static int depth, keep_every;
static long calls_made, kept;
static void* volatile* kept_blocks;

__attribute__((noinline)) void leaf_alloc(void) {
  void* p = malloc(64);
  if (p == NULL) exit(2);
  if (++calls_made % keep_every == 0) kept_blocks[kept++] = p;
  else free(p);
}

__attribute__((noinline)) void step(int level);
__attribute__((noinline)) void way_a(int level) { step(level + 1); __asm__ volatile(""); }
__attribute__((noinline)) void way_b(int level) { step(level + 1); __asm__ volatile(""); }
__attribute__((noinline)) void way_c(int level) { step(level + 1); __asm__ volatile(""); }
__attribute__((noinline)) void way_d(int level) { step(level + 1); __asm__ volatile(""); }

__attribute__((noinline)) void step(int level) {
  if (level >= depth) {
    leaf_alloc();
  } else {
    switch (next_random() & 3) {
      case 0: way_a(level); break;
      case 1: way_b(level); break;
      case 2: way_c(level); break;
      default: way_d(level); break;
    }
  }
  __asm__ volatile("");
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const long calls = atol(argv[1]);
  keep_every = atoi(argv[2]);
  depth = argc > 3 ? atoi(argv[3]) : 12;
  if (calls <= 0 || keep_every <= 0 || depth <= 0) return 2;
  kept_blocks = malloc(sizeof(void*) * (size_t)(calls / keep_every + 1));
  if (kept_blocks == NULL) return 2;
  for (long i = 0; i < calls; ++i) step(0);
  printf("kept %ld\n", kept);
  return 0;
}
