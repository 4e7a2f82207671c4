// A minimal spin lock for rare paths that are not the program's malloc/free
// (thread start and exit, the fork handlers). Never held across a call that
// could take another lock.
#pragma once

#include <sched.h>

#include <atomic>

namespace leaktrace::preload {

class SpinLock {
 public:
  void Lock() {
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) sched_yield();
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }
  // For a fork child, whose copy may show a lock held by a thread that is gone.
  void Reset() { locked_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> locked_{false};
};

class SpinGuard {
 public:
  explicit SpinGuard(SpinLock& l) : l_(l) { l_.Lock(); }
  ~SpinGuard() { l_.Unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& l_;
};

}  // namespace leaktrace::preload
