// One thread of a running process, borrowed to run a few function calls
// (dlopen, then leaktrace_attach) and given back exactly as it was.
//
// How: PTRACE_SEIZE and PTRACE_INTERRUPT one thread at a time (the others
// keep running), keep the first one found waiting in a system call where
// the loader and malloc may safely run (epoll_wait, poll, read, nanosleep...;
// not futex, not inside the loader: it could hold a lock they need). Its
// registers, extended state (NT_X86_XSTATE) and the stack bytes we write
// are saved; each call runs on its stack below the red zone with return
// address 0, so the return traps (SIGSEGV at 0, seen by us, never
// delivered). Release() writes everything back while the thread sits in
// that signal-delivery stop and detaches: the kernel then restarts the
// interrupted system call exactly as it would have after any signal that
// has no handler (orig_rax and the -ERESTART* value are the saved ones), so
// the program sees no EINTR. Signals that arrive meanwhile are held and
// delivered at the detach with their original siginfo.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

namespace leaktrace::cli::attach {

class BorrowedThread {
 public:
  // Borrows a thread of `pid`, trying for up to `patience_ms`. Throws
  // CliError (exit 2) with the reason: no permission, no such process, no
  // thread at a safe point.
  static BorrowedThread Borrow(pid_t pid, int patience_ms);

  BorrowedThread(BorrowedThread&& other) noexcept;
  BorrowedThread& operator=(BorrowedThread&&) = delete;
  ~BorrowedThread();  // Release(), if not done

  pid_t tid() const { return tid_; }
  // Which system call it was waiting in (x86-64 number).
  long syscall_number() const { return static_cast<long>(saved_regs_.orig_rax); }

  // Copies `bytes` to the thread's scratch area on its stack; returns the
  // address in the process. Before the first Call.
  uint64_t Push(const void* data, size_t bytes);
  uint64_t PushString(const std::string& s) { return Push(s.c_str(), s.size() + 1); }

  // Calls `function(args...)` (up to 6 integer arguments) on the thread and
  // returns rax. Throws CliError when the process exits or the call faults.
  uint64_t Call(uint64_t function, const std::vector<uint64_t>& args);

  // Reads process memory (a C string of at most `max` bytes).
  std::string ReadString(uint64_t address, size_t max);
  uint64_t ReadWord(uint64_t address);

  // Restores registers, extended state and stack bytes and detaches. Returns
  // how long the thread was away from its own code, in seconds.
  double Release();

 private:
  BorrowedThread(pid_t pid, pid_t tid, int mem_fd) : pid_(pid), tid_(tid), mem_fd_(mem_fd) {}
  void SaveState();
  void Write(uint64_t address, const void* data, size_t bytes);
  void Read(uint64_t address, void* data, size_t bytes);

  pid_t pid_ = 0;
  pid_t tid_ = 0;
  int mem_fd_ = -1;
  bool attached_ = false;
  double stopped_at_ = 0;  // CLOCK_MONOTONIC seconds at the interrupt
  user_regs_struct saved_regs_ = {};
  std::vector<unsigned char> saved_xstate_;
  bool xstate_is_fxsave_ = false;
  uint64_t scratch_top_ = 0;   // stack top below the red zone
  uint64_t scratch_used_ = 0;  // bytes pushed below scratch_top_
  std::vector<unsigned char> saved_stack_;  // the bytes under [scratch_top_ - saved_stack_.size(), scratch_top_)
  std::vector<siginfo_t> held_signals_;
  bool in_trap_stop_ = false;  // stopped at a call's return trap (SIGSEGV)
  bool state_saved_ = false;   // SaveState ran: Release restores
};

}  // namespace leaktrace::cli::attach
