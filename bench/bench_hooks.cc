// The malloc family as a program sees it under libleaktrace.so. This is a
// plain program: it calls malloc/free and knows nothing of leaktrace.
// scripts/bench.sh runs it several times, plainly and under LD_PRELOAD in
// each mode (default sampled, LEAKTRACE_SAMPLE=64, exact), and puts the
// results side by side; the cost of leaktrace is the difference between the
// columns of one row, measured on one machine in one run.
//
//   BM_MallocFree/64        malloc+free of 64 B: in default mode, the
//                           countdown fast path (plus the rare sample)
//   BM_MallocFree/<size>    the same for 16 .. 1024 B
//   BM_FreeOnly             free() alone (blocks allocated untimed, in batches)
//   BM_Realloc              realloc of one block between 64 and 200 B
//   BM_SampledPath/<size>   malloc+free, meant to run with LEAKTRACE_SAMPLE=64,
//                           where (nearly) every allocation takes the sampled
//                           path: unwind, intern, page-aligned block, record
//   BM_MallocAtDepth/<d>    malloc+free after recursing d frames: in exact
//                           mode, the unwind cost by call depth
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

namespace {

// Calls go through volatile pointers so the compiler can neither elide a
// malloc/free pair nor inline anything into the loop.
void* (*volatile g_malloc)(size_t) = std::malloc;
void (*volatile g_free)(void*) = std::free;
void* (*volatile g_realloc)(void*, size_t) = std::realloc;

void BM_MallocFree(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = g_malloc(size);
    benchmark::DoNotOptimize(p);
    g_free(p);
  }
}
BENCHMARK(BM_MallocFree)->Arg(16)->Arg(32)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1024);

// Same loop as BM_MallocFree, under its own name so the sampled-path rows of
// the table are easy to pick out (run with LEAKTRACE_SAMPLE=64: p(sample) is
// 1-exp(-size/64): 63 % at 64 B, 98 % at 256 B, ~100 % at 1024 B).
void BM_SampledPath(benchmark::State& state) { BM_MallocFree(state); }
BENCHMARK(BM_SampledPath)->Arg(64)->Arg(256)->Arg(1024);

// free() alone: a batch of blocks is allocated with the clock stopped, then
// freed with it running. Sizes vary so frees hit several size classes.
void BM_FreeOnly(benchmark::State& state) {
  constexpr int kBatch = 4096;
  std::vector<void*> blocks(kBatch);
  int64_t frees = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < kBatch; ++i) blocks[i] = g_malloc(16 + (i * 37) % 1009);
    state.ResumeTiming();
    for (int i = 0; i < kBatch; ++i) g_free(blocks[i]);
    frees += kBatch;
  }
  // Seconds of timed run per free (rate, inverted): the per-free cost.
  state.counters["sec_per_free"] =
      benchmark::Counter(static_cast<double>(frees), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FreeOnly);

// realloc one block back and forth between a small and a larger size, so
// glibc has to move or extend it: the realloc hook and its sampled/exact
// bookkeeping, not just a no-op.
void BM_Realloc(benchmark::State& state) {
  void* p = g_malloc(64);
  bool big = false;
  for (auto _ : state) {
    big = !big;
    p = g_realloc(p, big ? 200 : 64);
    benchmark::DoNotOptimize(p);
  }
  g_free(p);
}
BENCHMARK(BM_Realloc);

// Recursion that neither inlines nor tail-calls, so each level is a real
// frame the unwinder has to step through.
__attribute__((noinline)) void* AllocateAtDepth(int depth, size_t size) {
  if (depth <= 1) return g_malloc(size);
  void* p = AllocateAtDepth(depth - 1, size);
  benchmark::DoNotOptimize(p);
  return p;
}

void BM_MallocAtDepth(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  for (auto _ : state) {
    void* p = AllocateAtDepth(depth, 64);
    benchmark::DoNotOptimize(p);
    g_free(p);
  }
}
BENCHMARK(BM_MallocAtDepth)->Arg(1)->Arg(8)->Arg(32)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
