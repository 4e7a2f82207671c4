// Keeps fork from splitting leaktrace's own unwinding in half.
//
// Unwinding (libunwind) takes locks a fork child never gets back: libunwind's
// own mutexes, and the loader's dl_load_write_lock through dl_iterate_phdr,
// which glibc 2.36's fork does not reset (it re-initialises dl_load_lock
// only). A child forked while another thread of the parent was inside either
// blocks forever on its first unwind, or in dlopen, or at its exit
// snapshot. So every call into libunwind or dl_iterate_phdr that leaktrace
// makes on the program's threads runs inside a ForkGateScope, and the fork
// prepare handler closes the gate and waits until no thread is inside.
//
// Cost: two atomic operations on a shared counter per unwind (the exact
// mode's cache hits and the sampled mode's unsampled allocations never
// unwind). A thread arriving while a fork is being prepared waits until the
// fork is done; the prepare handler waits at most about a second for the
// threads inside (a stopped or starved thread must not hang fork itself).
//
// Contract: a scope may only be entered while holding no leaktrace lock that
// the fork handlers take, and the code inside must not take one either.
#pragma once

namespace leaktrace::preload {

void ForkGateEnter();
void ForkGateExit();

class ForkGateScope {
 public:
  ForkGateScope() { ForkGateEnter(); }
  ~ForkGateScope() { ForkGateExit(); }
  ForkGateScope(const ForkGateScope&) = delete;
  ForkGateScope& operator=(const ForkGateScope&) = delete;
};

// fork handlers (lifecycle.cc): close before the other prepare steps, open
// after the parent's, reset first thing in the child.
void ForkGatePrepare();
void ForkGateParentAfterFork();
void ForkGateChildAfterFork();

}  // namespace leaktrace::preload
