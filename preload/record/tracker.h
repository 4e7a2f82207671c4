// The tracker's global state and the recording of heap events into shards.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "preload/internal/config.h"
#include "preload/record/thread_state.h"

namespace leaktrace::preload {

enum class Mode : uint8_t {
  kUninitialized = 0,
  kSampled = 1,  // the hot paths test for exactly this value
  kExact = 2,
  kInert = 3,    // settings invalid or leaktrace disabled: pass everything through
};

// Written once by Initialize() (release) while other threads may already be
// in the hooks; read with CurrentMode() (acquire: a plain load on x86-64,
// and a thread that sees kSampled also sees `real` and g_config filled in).
extern std::atomic<Mode> g_mode;
LT_ALWAYS_INLINE Mode CurrentMode() { return g_mode.load(std::memory_order_acquire); }
extern Config g_config;

// Resolves the real allocator and reads the settings. Called from the first
// hook of the process (on any thread); other threads wait until it is done.
// Afterwards g_mode is never kUninitialized.
void EnsureInitialized();

// Self-health counters, written in every dump.
struct HealthCounters {
  std::atomic<uint64_t> dropped_stacks{0};     // stack table full / out of memory
  std::atomic<uint64_t> dropped_sites{0};      // a shard full / out of memory
  std::atomic<uint64_t> busy_frees{0};         // tracked blocks freed inside leaktrace
  std::atomic<uint64_t> unsampled_aligned{0};  // sampled mode: alignment > 64, never sampled
  std::atomic<uint64_t> orphan_events{0};      // events from threads past their exit hooks
  std::atomic<uint64_t> failed_dumps{0};
  std::atomic<uint64_t> unwind_cache_mismatches{0};  // cached chains a full unwind proved wrong
};
extern HealthCounters g_health;

// Captures the calling stack and returns its id (0 when it could not be
// recorded). The thread must not be busy.
uint32_t CaptureStackId(ThreadState& t);

class Shard;
struct CapturedStack;

// The id of a captured stack: from the shard's hash cache, else interned
// (into the shard's arena, or the orphan shard's when `shard` is null). 0
// when the table is full (counted as dropped). `hash_out`, if given,
// receives the stack's hash. Thread busy; owner of `shard` only.
uint32_t InternCaptured(Shard* shard, const CapturedStack& stack, uint64_t* hash_out = nullptr);

// Adds one allocation / free of weight `weight` to the calling thread's
// shard. Must not be called while the thread is busy.
void RecordAlloc(ThreadState& t, uint32_t stack_id, uint64_t size, double weight);
void RecordFree(ThreadState& t, uint32_t stack_id, uint64_t size, double weight);

// Process-wide bookkeeping for thread exit.
void OnThreadExit(void* shard);

}  // namespace leaktrace::preload
