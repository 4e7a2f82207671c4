// The answer to "unwinding is most of the cost": a per-thread cache from the
// exact machine stack to its stack id, checked without unwinding. Used for
// every unwind, exact mode's and sampled allocations' alike; all threads'
// caches together stay within a fixed budget (unwind_cache.cc).
//
// Learning a chain walks libunwind's cursor, which also gives every frame's
// stack pointer, so we learn the address of each return-address slot. That
// walk is slow (Debian's libunwind locks its cache with two sigprocmask calls
// per frame), so only a chain likely to come back is learned: a miss that
// finds a free way in its set learns at once; otherwise the miss is answered
// by unw_backtrace, and the chain is learned only when it also missed there
// the time before. The entry keeps the stack pointer at a fixed point in our own code
// (the "marker"), every slot address and the return address found there. A
// later capture with the same marker whose slots still hold the same return
// addresses has, frame by frame, the same call chain (each frame's CFA
// follows from its IP and the frame below): the cached id is the answer, for
// the cost of one load and compare per frame instead of a DWARF lookup.
// That argument fails for frames of dynamic size (alloca, VLAs, realigned
// stacks), so some hits are checked against a full unwind (VerifyHit in
// unwind_cache.cc) and a position that proved wrong is not cached again.
//
// The layout and the hit path are in unwind_cache_lookup.h, inline for
// exact mode's allocation paths; everything else is in unwind_cache.cc.
//
// Only the thread's own pthread stack is cached (its bounds make every slot
// read safe); stacks with a signal frame, or code running on another stack
// (coroutines), take the uncached path every time. x86-64 only: elsewhere
// the return address is not always in a stack slot.
#pragma once

#include <cstdint>

namespace leaktrace::preload {

class Shard;
struct UnwindCache;

#if defined(__x86_64__)
inline constexpr bool kUnwindCacheAvailable = true;
#else
inline constexpr bool kUnwindCacheAvailable = false;
#endif

// Owner thread only, thread busy. Returns the stack id of the calling stack
// (0 when it could not be recorded). Uses and fills the shard's cache.
uint32_t CaptureStackIdCached(Shard& shard);

// Before the program enters a seccomp sandbox (hooks_sandbox.cc): sets
// libunwind up and learns the calling thread's stack bounds now, while
// every system call is still allowed (the main thread's take a mincore,
// which a filter listing what the program itself calls kills; so does
// libunwind's own set-up). Owner thread, thread busy.
void PrepareCapturesForSandbox(Shard& shard);

// Bytes all threads' caches hold now (within the budget). Any thread.
uint64_t UnwindCacheBytes();

// Forgets everything cached: the shard changes thread (the old thread's
// stack may be gone). Owner only.
void ResetUnwindCache(Shard& shard);

// Fork handlers (lifecycle.cc). A chain only fork children reach is learned
// by each child and dies with it: a fork child posts the first chains it
// learns on the forking thread to its parent, which caches them at its next
// fork on that thread, so later children hit (unwind_cache.cc, "Lessons").
// Prepare: the forking thread, before the other prepare steps (it interns
// stacks and fills its own cache; no lock held). Child: first in the child.
void UnwindCachePrepareFork();
void UnwindCacheChildAfterFork();

}  // namespace leaktrace::preload
