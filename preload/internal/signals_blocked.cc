#include "preload/internal/signals_blocked.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "preload/internal/compiler.h"
#include "preload/interpose/real_functions.h"

namespace leaktrace::preload {
namespace {

// The thread's outermost SignalsBlockedScope, or nullptr.
__thread SignalsBlockedScope* t_scope LT_INITIAL_EXEC = nullptr;

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
  if (t_scope != nullptr) return;  // an outer scope answers
  outermost_ = true;
  t_scope = this;
}

SignalsBlockedScope::~SignalsBlockedScope() {
  if (!outermost_) return;
  t_scope = nullptr;
  if (blocked_) real.pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

bool SignalsBlockedScope::Answer(int how, const sigset_t* set, sigset_t* old) {
  if (set == nullptr || (how != SIG_SETMASK && how != SIG_BLOCK) || !BlocksEverySignal(set)) return false;
  if (!blocked_) {
    EnsureReal();
    if (real.pthread_sigmask == nullptr) return false;
    // Every signal but the synchronous faults: a fault inside the walk (a
    // bug) still reaches the program's own handler, as it did when
    // libunwind blocked signals only around its lookups; blocked, the
    // kernel would kill the process without it.
    sigset_t all;
    sigfillset(&all);
    for (int fault : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) sigdelset(&all, fault);
    if (real.pthread_sigmask(SIG_SETMASK, &all, &saved_) != 0) return false;
    blocked_ = true;
  }
  if (old != nullptr) sigfillset(old);
  return true;
}

}  // namespace leaktrace::preload

using namespace leaktrace::preload;

extern "C" int leaktrace_unwinder_sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  if (SignalsBlockedScope* scope = t_scope; scope != nullptr && scope->Answer(how, set, old)) return 0;
  EnsureReal();
  if (real.sigprocmask == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real.sigprocmask(how, set, old);
}
