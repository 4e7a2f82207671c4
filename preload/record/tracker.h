// The recording of events into shards: a stack captured and turned into an
// id, an allocation or free added to the calling thread's shard. The mode
// and settings are in internal/mode.h, the health counters in
// internal/health.h, interning in stack_ids.h.
#pragma once

#include <cstdint>

#include "preload/record/thread_state.h"

namespace leaktrace::preload {

// Sets up what recording needs before the first event (libunwind, the
// thread-exit key). Called once, by the initialisation, before the mode
// leaves kUninitialized.
void StartRecording();

// Captures the calling stack and returns its id (0 when it could not be
// recorded). The thread must not be busy.
uint32_t CaptureStackId(ThreadState& t);

// The calling thread's shard, attached at its first use (a thread's first
// tracked event); nullptr for a thread past its exit hooks. The thread
// must not be busy.
class Shard;
Shard* ThreadShard(ThreadState& t);

// Adds one allocation / free of weight `weight` to the calling thread's
// shard. Must not be called while the thread is busy.
void RecordAlloc(ThreadState& t, uint32_t stack_id, uint64_t size, double weight);
void RecordFree(ThreadState& t, uint32_t stack_id, uint64_t size, double weight);
// RecordFree(old...) then RecordAlloc(fresh...), as a realloc books them; when
// both stacks are the same site, its counters are found once and the heap
// total moves once by the difference (the site figures are exactly those of
// the two calls; the peak too, as the total in between was lower). Must not
// be called while busy.
void RecordRealloc(ThreadState& t, uint32_t old_stack_id, uint64_t old_size, double old_weight,
                   uint32_t stack_id, uint64_t size, double weight);

// Process-wide bookkeeping for thread exit.
void OnThreadExit(void* shard);

}  // namespace leaktrace::preload
