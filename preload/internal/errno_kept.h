// Keeps the program's errno across leaktrace's own work inside a hook.
#pragma once

#include <cerrno>

namespace leaktrace::preload {

// A hook that succeeds leaves errno as the program set it, as the call
// without leaktrace would. Leaktrace's slow paths make system calls of their
// own that may fail harmlessly (libunwind drains its validation pipe with a
// read that fails EAGAIN at the first unwind; a /proc query may be refused),
// so each one that can keeps errno in one of these. Async-signal-safe; for
// slow paths only (errno is a call to __errno_location).
class ErrnoKept {
 public:
  ErrnoKept() : saved_(errno) {}
  ~ErrnoKept() { errno = saved_; }
  ErrnoKept(const ErrnoKept&) = delete;
  ErrnoKept& operator=(const ErrnoKept&) = delete;

 private:
  int saved_;
};

}  // namespace leaktrace::preload
