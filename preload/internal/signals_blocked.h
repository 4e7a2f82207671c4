// One signal mask change around a stretch of libunwind work instead of two
// per frame.
//
// libunwind (as Debian builds it) blocks every signal around each lookup of
// a frame's unwind information (dwarf_find_proc_info: sigprocmask, then
// dl_iterate_phdr, then sigprocmask back), so that a signal handler that
// unwinds too cannot meet its own locks half taken. A cursor walk over a
// stack it has not seen makes two system calls per frame: about 500 per
// loop iteration of a bash script in exact mode, and most of a fork child's
// unwinding.
//
// SignalsBlockedScope blocks every signal once (one system call) and puts the
// mask back at its end (one more). Inside it, the thread takes no
// asynchronous signal, so every sigprocmask or pthread_sigmask call the
// thread makes there comes from the code inside (libunwind), never from a
// handler: a request to block everything (libunwind's) is answered without
// a system call (AnswerBlockedMaskRequest); anything else is passed on.
// Signals are then blocked over a superset of the windows libunwind blocks
// them for: what it protects stays protected. The synchronous fault signals
// (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) stay unblocked: a fault is no
// interleaving handler, and blocked, the kernel would kill the process
// without running the program's own handler. (A fault inside the walk is
// the one case where a handler runs in the scope; should it ask to block
// every signal, it is answered as libunwind is, and its handler's own mask
// holds meanwhile.)
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

 private:
  sigset_t saved_;
  bool blocked_ = false;  // this scope blocked (the outermost one did)
};

// For the sigprocmask and pthread_sigmask hooks: true when the call was
// answered here (*rc holds what the call returns: 0), false when it must go
// to the real function. Answered: inside a SignalsBlockedScope, a
// SIG_SETMASK or SIG_BLOCK of a set that blocks every signal (what the
// thread already has), with *old set to the thread's mask (every signal).
bool AnswerBlockedMaskRequest(int how, const sigset_t* set, sigset_t* old);

}  // namespace leaktrace::preload
