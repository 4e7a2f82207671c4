// The preload library's control block: a memfd named "leaktrace-control" in
// the tracked process, rewritten after every dump, holding key=value lines
// (version, pid, signal, dir, program, started, completed, last).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace leaktrace::cli {

struct ControlBlock {
  int version = 0;
  pid_t pid = 0;
  int signal = 0;          // 0: snapshots by signal are disabled
  pid_t signal_tid = 0;    // the library's dumper thread: send the signal there (0: unknown)
  std::string dir;         // absolute dump directory
  std::string program;
  uint64_t started = 0;    // seq of the last dump begun (== completed when none is under way)
  uint64_t completed = 0;  // seq of the last completed dump, 0 if none
  std::string last;        // absolute path of that dump
  // Written by a library that reports failed dumps (not yet: see
  // docs/cli.md, snapshot): seq of the last dump that could not be written,
  // and the process's own reason, one line ("cannot write its dump to DIR:
  // Permission denied"). 0 / empty when none failed.
  uint64_t failed = 0;
  std::string error;
};

// nullopt when the text is not a complete version-1 block (e.g. read while
// the library was rewriting it). Unknown keys are ignored.
std::optional<ControlBlock> ParseControlBlock(std::string_view text);

// An open control block of one process. Holding the descriptor keeps the
// memfd readable even after the process exits.
class ControlHandle {
 public:
  // The block of `pid` itself (pid= matches): a copy inherited from a parent
  // across fork is skipped. nullopt when the process has none. Throws
  // CliError when /proc/PID/fd cannot be read (no such process, permission).
  static std::optional<ControlHandle> Find(pid_t pid);

  ControlHandle(ControlHandle&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ControlHandle& operator=(ControlHandle&&) = delete;
  ~ControlHandle();

  // The current content; nullopt while it is being rewritten.
  std::optional<ControlBlock> Read() const;

 private:
  explicit ControlHandle(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace leaktrace::cli
