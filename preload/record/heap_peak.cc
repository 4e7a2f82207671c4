#include "preload/record/heap_peak.h"

#include "preload/internal/one_thread.h"
#include "preload/record/shard.h"

namespace leaktrace::preload {
namespace {

std::atomic<int64_t> g_heap_total{0};
std::atomic<int64_t> g_heap_peak{0};
std::atomic<uint32_t> g_batching_shards{0};

}  // namespace

void RaiseHeapPeak(int64_t live) {
  int64_t peak = g_heap_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_heap_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}

LT_NOINLINE void FlushHeapPending(int64_t pending) {
  int64_t total;
  // One thread (one_thread.h): no lock prefix. Where most blocks cross
  // the flush step (malloc_sizes: blocks of 100 KB on average) its lock
  // was 14 % of exact mode's profile; with the age table's unlocked claim,
  // the two saved 5 % of exact mode's time there. Only the heap paths
  // write the total, and the snapshot handler does not, so a handler
  // interrupting here loses nothing; the peak keeps its compare-and-swap
  // (the handler raises it, RaiseHeapPeak).
  if (ProcessRunsOneThread()) {
    total = g_heap_total.load(std::memory_order_relaxed) + pending;
    g_heap_total.store(total, std::memory_order_relaxed);
  } else {
    total = g_heap_total.fetch_add(pending, std::memory_order_relaxed) + pending;
  }
  if (pending > 0) RaiseHeapPeak(total);
}

LT_NOINLINE void CountBatchingShard(Shard& shard) {
  if (shard.batches_resizes) return;
  shard.batches_resizes = true;
  g_batching_shards.fetch_add(1, std::memory_order_relaxed);
}

uint32_t BatchingShards() { return g_batching_shards.load(std::memory_order_relaxed); }

int64_t HeapPeakBytes() { return g_heap_peak.load(std::memory_order_relaxed); }

}  // namespace leaktrace::preload
