// The preload library's control block: a memfd named "leaktrace-control" in
// the tracked process, rewritten after every dump, holding key=value lines
// (version, pid, signal, signal_tid, dir, program, started, completed, last,
// failed, error, handover, handover_fd, handover_path, handover_offset,
// reader_mark, thread_request, snapshot_request), and a line of ours asking
// for the dumper thread, or for a snapshot.
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
  pid_t signal_tid = 0;    // the library's dumper thread: send the signal there (0: none; -1: starting)
  std::string dir;         // absolute dump directory
  std::string program;
  uint64_t started = 0;    // seq of the last dump begun (== completed when none is under way)
  uint64_t completed = 0;  // seq of the last completed dump, 0 if none
  std::string last;        // absolute path of that dump
  uint64_t failed = 0;     // seq of the last dump the process could not write, 0 if none
  std::string error;       // and the process's reason ("cannot create DIR/...: Permission denied")
  uint64_t handover = 0;   // seq of the last dump left in a memfd for us to write (dump_handover.h), 0 if none
  int handover_fd = -1;    // that memfd's number in the process
  std::string handover_path;  // where the process meant to write it
  uint64_t handover_offset = 0;  // where the dump starts in that memfd (after the block: the block's own memfd)
  bool reader_mark = false;  // the library knows our marked signal (format::AskedByReader)
  bool thread_request = false;  // the library takes AskForDumperThread
  bool snapshot_request = false;  // with signal 0, the library takes AskForSnapshot
};

// True when `link` (what /proc/PID/fd/N points at) is a memfd named `name`:
// "/memfd:NAME (deleted)".
bool IsMemfdNamed(std::string_view link, std::string_view name);

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
  // A block `pid` inherited from its parent across fork (pid= names the
  // parent, or an earlier ancestor): a fork child that has not needed a
  // block of its own yet (the library makes it at the child's first dump).
  // Its signal, dir and program are the child's too; its signal_tid and
  // dump counts are not. nullopt when there is none; throws as Find.
  static std::optional<ControlHandle> FindInherited(pid_t pid);

  ControlHandle(ControlHandle&& other) noexcept : fd_(other.fd_), fd_in_process_(other.fd_in_process_) {
    other.fd_ = -1;
  }
  ControlHandle& operator=(ControlHandle&&) = delete;
  ~ControlHandle();

  // The current content; nullopt while it is being rewritten.
  std::optional<ControlBlock> Read() const;
  // Asks the process for its dumper thread (format/control_block.h,
  // kThreadWantedLine), which it starts at its next tracked event: for a
  // block whose thread_request is set, own and showing signal_tid 0. False
  // when the block cannot be written (opened again for writing through
  // /proc/self/fd: a block of another user's process).
  bool AskForDumperThread() const;
  // Asks a process that takes no snapshot signal for a snapshot
  // (format/control_block.h, kSnapshotWantedLine): for a block whose
  // snapshot_request is set. False as AskForDumperThread.
  bool AskForSnapshot() const;
  // Whether `pid` still holds this block among its descriptors. False once
  // the process exec'd (the block is close-on-exec: the new image makes a
  // block of its own, and this one is never written again) or gave up its
  // descriptors on its way out. One stat of /proc/PID/fd/N while the block
  // stays where it was found; a look through all of the process's
  // descriptors when the library moved it (a dup2 onto its number).
  bool HeldBy(pid_t pid) const;

 private:
  ControlHandle(int fd, int fd_in_process) : fd_(fd), fd_in_process_(fd_in_process) {}
  bool WriteRequest(const char* line) const;
  static std::optional<ControlHandle> Scan(pid_t pid, bool own);
  int fd_;
  mutable int fd_in_process_;  // the block's descriptor number in the process, as last seen
};

}  // namespace leaktrace::cli
