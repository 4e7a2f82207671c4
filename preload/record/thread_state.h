// The per-thread part of the tracker, in initial-exec TLS so reaching it is a
// single fs-relative load (no __tls_get_addr, no allocation, ever).
#pragma once

#include <cstdint>

#include "preload/internal/compiler.h"
#include "preload/heap/growing_block.h"
#include "preload/heap/sampler.h"

namespace leaktrace::preload {

class Shard;

enum class ThreadPhase : uint8_t {
  kNew = 0,       // no shard yet
  kAttached = 1,  // owns `shard`
  kExited = 2,    // past its pthread key destructor: shard given back
};

struct ThreadState {
  // The heap sampler (sampler.h): sampled mode's Poisson countdown; in exact
  // mode it picks the aged blocks instead (age_table.h).
  SamplerState sampler;
  uint32_t busy;      // > 0 while leaktrace itself runs on this thread
  ThreadPhase phase;
  // > 0 while asking glibc for this thread's stack (pthread_getattr_np,
  // which reallocs) could wait forever, so a capture leaves the stack to a
  // later one (unwind_cache.cc, LearnStackBounds): inside the program's own
  // pthread_getattr_np on this thread (hooks_thread.cc: glibc holds a
  // thread's lock while it allocates), and while a mapping call is recorded
  // (resource_paths.cc: an allocator ahead of leaktrace, jemalloc, maps its
  // chunks holding its own lock, which the realloc would wait for). In the
  // padding after `phase`.
  uint8_t stack_query_barred;
  // Set while the thread runs its start routine inside leaktrace's thread
  // trampoline (thread_table.h): a thread pthread_create made, never the
  // process's first one, so its stack is the one pthread mapped for it
  // (unwind_cache.cc asks no system call to tell). In the padding too.
  bool created_thread;
  // Set while this thread makes leaktrace's own thread (dumper.cc,
  // OwnThreadCreation): what pthread_create allocates on it comes from the
  // bootstrap heap, never the program's (heap_paths.cc). In the padding too.
  bool own_heap;
  Shard* shard;
  // The last plain usable size measured (heap_paths.cc, PlainUsable): a
  // plain block of any size in [usable_from, usable] has `usable` bytes.
  size_t usable_from;
  size_t usable;
  // Net tracked heap bytes this thread recorded and has not yet added to
  // the process-wide total (heap_peak.h).
  int64_t heap_pending;
  // Sampled mode: the steps of a buffer grown in place by realloc that are
  // still to be booked (growing_block.h).
  GrowingBlock growing;
};

extern __thread ThreadState t_state LT_INITIAL_EXEC;

// Marks the thread busy for a scope: allocations made meanwhile (by libunwind,
// dlsym, pthread) are passed through untracked instead of recursing.
class BusyScope {
 public:
  BusyScope() { ++t_state.busy; }
  ~BusyScope() { --t_state.busy; }
  BusyScope(const BusyScope&) = delete;
  BusyScope& operator=(const BusyScope&) = delete;
};

}  // namespace leaktrace::preload
