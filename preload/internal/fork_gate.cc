#include "preload/internal/fork_gate.h"

#include <sched.h>
#include <stdint.h>
#include <time.h>

#include <atomic>

#include "preload/internal/compiler.h"
#include "preload/internal/kernel_clock.h"

namespace leaktrace::preload {
namespace {

LT_FORK_LOCK std::atomic<uint32_t> g_inside{0};   // threads inside a scope (nested scopes count again)
LT_FORK_LOCK std::atomic<bool> g_closed{false};   // a fork is being prepared
__thread uint32_t t_depth LT_INITIAL_EXEC = 0;  // this thread's open scopes

constexpr int64_t kMaxPrepareWaitNs = 1000 * 1000 * 1000;

int64_t NowNs() {
  return KernelClockNs(CLOCK_MONOTONIC);
}

}  // namespace

void ForkGateEnter() {
  // A thread already inside goes on: the prepare handler is waiting for it.
  if (t_depth == 0) {
    for (;;) {
      g_inside.fetch_add(1, std::memory_order_seq_cst);
      if (LT_LIKELY(!g_closed.load(std::memory_order_seq_cst))) break;
      g_inside.fetch_sub(1, std::memory_order_seq_cst);
      while (g_closed.load(std::memory_order_acquire)) sched_yield();
    }
  } else {
    g_inside.fetch_add(1, std::memory_order_relaxed);
  }
  ++t_depth;
}

void ForkGateExit() {
  --t_depth;
  g_inside.fetch_sub(1, std::memory_order_release);
}

void ForkGatePrepare() {
  g_closed.store(true, std::memory_order_seq_cst);
  // fork called from a signal handler that interrupted this very thread
  // inside a scope: do not wait for ourselves.
  const uint32_t own = t_depth;
  const int64_t deadline = NowNs() + kMaxPrepareWaitNs;
  while (g_inside.load(std::memory_order_seq_cst) > own) {
    if (NowNs() > deadline) break;  // fork goes on; the child may then block as before
    sched_yield();
  }
}

void ForkGateParentAfterFork() { g_closed.store(false, std::memory_order_release); }

LT_FORK_CHILD_CODE void ForkGateChildAfterFork() {
  // Only this thread survives: its own scopes are all that is inside.
  g_inside.store(t_depth, std::memory_order_relaxed);
  g_closed.store(false, std::memory_order_release);
}

}  // namespace leaktrace::preload
