// Self-health counters: what leaktrace could not record, written in every
// dump (its health section, docs/dump-format.md). Any thread, relaxed.
#pragma once

#include <atomic>
#include <cstdint>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

struct HealthCounters {
  std::atomic<uint64_t> dropped_stacks{0};     // stack table full / out of memory
  // Events whose stack was new after the stack budget (LEAKTRACE_MAX_STACKS)
  // was spent, booked under its innermost frames (stack_ids.cc).
  std::atomic<uint64_t> folded_stacks{0};
  std::atomic<uint64_t> dropped_sites{0};      // a shard full / out of memory
  std::atomic<uint64_t> busy_frees{0};         // tracked blocks freed inside leaktrace
  std::atomic<uint64_t> unsampled_aligned{0};  // sampled mode: alignment > 64, never sampled
  std::atomic<uint64_t> orphan_events{0};      // events from threads past their exit hooks
  std::atomic<uint64_t> failed_dumps{0};
  std::atomic<uint64_t> unwind_cache_mismatches{0};  // cached chains a full unwind proved wrong
  // Why the heap hooks never run, found at start (interpose/malloc_reach.h,
  // HeapNotTracked); 0: they do, or it was not checked.
  std::atomic<uint64_t> heap_not_tracked{0};
};
extern LT_HIDDEN HealthCounters g_health;

}  // namespace leaktrace::preload
