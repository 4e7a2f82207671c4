// One signal mask change around a stretch of libunwind work instead of two
// per frame, and none when libunwind needs none.
//
// libunwind (as Debian builds it) blocks every signal around each lookup of
// a frame's unwind information (dwarf_find_proc_info: sigprocmask, then
// dl_iterate_phdr, then sigprocmask back), so that a signal handler that
// unwinds too cannot meet its own locks half taken. A walk over frames it
// has not looked up yet makes two system calls per frame: about 500 per
// loop iteration of a bash script in exact mode, 37,000 in one gcc -O2 -c.
//
// libunwind's sigprocmask is renamed in its archive (unwinder_imports.syms)
// to leaktrace_unwinder_sigprocmask, so its requests, and only its, come
// here. Inside a SignalsBlockedScope the first request to block every
// signal blocks them (one system call: every signal but the synchronous
// faults) and is answered as done; every later request to block them all,
// and libunwind's restores of the "all blocked" mask it was told it had,
// are answered without a system call; the scope's end puts the thread's mask
// back (one more). A stretch in which libunwind looks nothing up (its own
// caches answer) makes no system call at all. Signals are then blocked over
// a superset of the windows libunwind blocks them for: what it protects
// stays protected. The synchronous fault signals (SIGSEGV, SIGBUS, SIGILL,
// SIGFPE, SIGTRAP) stay unblocked: a fault is no interleaving handler, and
// blocked, the kernel would kill the process without running the program's
// own handler. A handler that runs inside the scope (before the first block,
// or for a fault) calls the program's sigprocmask, not libunwind's: it is
// passed on untouched.
//
// Owner thread only; not for a signal handler's own use. Must not allocate.
#pragma once

#include <signal.h>

namespace leaktrace::preload {

class SignalsBlockedScope {
 public:
  SignalsBlockedScope();
  ~SignalsBlockedScope();
  SignalsBlockedScope(const SignalsBlockedScope&) = delete;
  SignalsBlockedScope& operator=(const SignalsBlockedScope&) = delete;

  // libunwind's request: true when answered here (*old, when asked for, is
  // "every signal"), false when it must go to the real sigprocmask.
  bool Answer(int how, const sigset_t* set, sigset_t* old);

 private:
  sigset_t saved_;
  bool outermost_ = false;  // an outer scope of this thread answers instead
  bool blocked_ = false;    // blocked at a request; restored at the end
};

}  // namespace leaktrace::preload

// libunwind's sigprocmask (unwinder_imports.syms). Async-signal-safe.
extern "C" int leaktrace_unwinder_sigprocmask(int how, const sigset_t* set, sigset_t* old);
