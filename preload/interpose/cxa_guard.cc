// The C++ ABI's guard for function-local statics, our own. The hooks keep a
// few `static auto next = Next<...>("name")`; libstdc++'s guard would pull
// its exception machinery into the library (it throws on recursive
// initialisation), and libstdc++ itself is not loaded for us
// (CMakeLists.txt). Byte 0 of the guard is the ABI's "done" flag, byte 1
// ours: "an initialiser is running".
#include <sched.h>
#include <stdint.h>

#include <atomic>

namespace {

std::atomic<uint8_t>& Done(uint64_t* guard) { return reinterpret_cast<std::atomic<uint8_t>*>(guard)[0]; }
std::atomic<uint8_t>& Running(uint64_t* guard) { return reinterpret_cast<std::atomic<uint8_t>*>(guard)[1]; }

}  // namespace

// 1: the caller runs the initialiser, then calls release (or abort). 0: done
// already. Another thread's initialiser is waited out; a recursive one (the
// initialiser reaching its own static) would wait for ever, which libstdc++
// reports by throwing: none of our initialisers can recurse.
extern "C" int __cxa_guard_acquire(uint64_t* guard) {
  if (Done(guard).load(std::memory_order_acquire)) return 0;
  for (;;) {
    uint8_t idle = 0;
    if (Running(guard).compare_exchange_strong(idle, 1, std::memory_order_acquire)) {
      if (!Done(guard).load(std::memory_order_acquire)) return 1;
      Running(guard).store(0, std::memory_order_release);
      return 0;
    }
    sched_yield();
    if (Done(guard).load(std::memory_order_acquire)) return 0;
  }
}

extern "C" void __cxa_guard_release(uint64_t* guard) {
  Done(guard).store(1, std::memory_order_release);
  Running(guard).store(0, std::memory_order_release);
}

extern "C" void __cxa_guard_abort(uint64_t* guard) { Running(guard).store(0, std::memory_order_release); }
