#include "preload/internal/signals_blocked.h"

#include <stdint.h>
#include <string.h>

#include "preload/internal/compiler.h"
#include "preload/interpose/real_functions.h"

namespace leaktrace::preload {
namespace {

// Inside a SignalsBlockedScope of this thread: every signal but the
// synchronous faults is blocked.
__thread bool t_all_blocked LT_INITIAL_EXEC = false;

// What "every signal" means for a request: every signal 1..64 but the two
// glibc keeps for itself (32 and 33, which its sigprocmask never blocks).
// glibc's sigset_t holds signal s at bit s - 1 of its first word (the
// kernel's whole mask on x86-64): one load, no sigismember per signal.
bool BlocksEverySignal(const sigset_t* set) {
  uint64_t word;
  memcpy(&word, set, sizeof word);
  constexpr uint64_t kGlibcOwn = (uint64_t{1} << 31) | (uint64_t{1} << 32);
  return (word | kGlibcOwn) == ~uint64_t{0};
}

}  // namespace

SignalsBlockedScope::SignalsBlockedScope() {
  if (t_all_blocked) return;  // an outer scope holds it
  EnsureReal();
  if (real.pthread_sigmask == nullptr) return;
  // Every signal but the synchronous faults: a fault inside the walk (a
  // bug) still reaches the program's own handler, as it did when libunwind
  // blocked signals only around its lookups; blocked, the kernel would kill
  // the process without it.
  sigset_t all;
  sigfillset(&all);
  for (int fault : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) sigdelset(&all, fault);
  if (real.pthread_sigmask(SIG_SETMASK, &all, &saved_) != 0) return;
  blocked_ = true;
  t_all_blocked = true;
}

SignalsBlockedScope::~SignalsBlockedScope() {
  if (!blocked_) return;
  t_all_blocked = false;
  real.pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

bool AnswerBlockedMaskRequest(int how, const sigset_t* set, sigset_t* old) {
  if (LT_LIKELY(!t_all_blocked)) return false;
  if (set == nullptr || (how != SIG_SETMASK && how != SIG_BLOCK) || !BlocksEverySignal(set)) return false;
  if (old != nullptr) sigfillset(old);
  return true;
}

}  // namespace leaktrace::preload
