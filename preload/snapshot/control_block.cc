#include "preload/snapshot/control_block.h"
#include "preload/internal/compiler.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "format/control_block.h"
#include "format/decimal.h"
#include "preload/snapshot/dumper.h"
#include "preload/internal/private_fds.h"
#include "preload/snapshot/process_info.h"
#include "preload/internal/mode.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {
namespace {

namespace control = format::control;

// A private descriptor (private_fds.h): moved if the program dup2s onto it.
std::atomic<int> g_control_fd{-1};
// In a fork child until it first writes: g_control_fd is the parent's block,
// inherited, which the child must not write (control_block.h).
LT_FORK_STATE bool g_inherited = false;
size_t g_block_bytes = 0;      // the longest block written (callers serialise Write)
LT_FORK_STATE uint32_t g_failed_seq = 0;     // the last dump that could not be written (dump lock)
char g_failed_reason[1024];    // and why (read only while g_failed_seq is set)
LT_FORK_STATE uint32_t g_handover_seq = 0;   // the last dump left in a memfd for the reader (dump lock)
LT_FORK_STATE int g_handover_fd = -1;
LT_FORK_STATE size_t g_handover_offset = 0;  // where the dump starts in g_handover_fd's file
char g_handover_path[4200];    // read only while g_handover_seq is set

// key=value lines into a fixed buffer; what does not fit is cut off.
// Formatted by hand: the block is rewritten twice per dump and once at
// start-up, and snprintf cost about 1,000 instructions a line (15 lines).
class Lines {
 public:
  Lines(char* buf, size_t size) : buf_(buf), size_(size) {}
  void Add(const char* key, const char* value) {
    Text(key);
    Char('=');
    Text(value);
    Char('\n');
  }
  void Add(const char* key, long long value) {
    char digits[20];
    const size_t n =
        format::DecimalDigits(value < 0 ? 0ull - static_cast<unsigned long long>(value) : value, digits);
    Text(key);
    Char('=');
    if (value < 0) Char('-');
    for (size_t i = 0; i < n; ++i) Char(digits[i]);
    Char('\n');
  }
  size_t size() const { return used_; }

 private:
  void Char(char c) {
    if (used_ < size_) buf_[used_++] = c;
  }
  void Text(const char* s) {
    while (*s != '\0' && used_ < size_) buf_[used_++] = *s++;
  }
  char* buf_;
  size_t size_;
  size_t used_ = 0;
};

void CreateOwn() {
  const int inherited = g_control_fd.exchange(-1, std::memory_order_acq_rel);
  if (g_inherited && inherited >= 0) ClosePrivateFd(inherited);  // the parent's file: drop our reference
  g_inherited = false;
  // Under a tight descriptor limit the block would hold a number the
  // program may need (private_fds.h): `leaktrace snapshot` then finds the
  // process by /proc/PID/environ, as on an old kernel.
  if (DescriptorLimitIsTight()) return;
  {
    PrivateFdMaking making;
    const int fd = static_cast<int>(RawSyscall(SYS_memfd_create, control::kMemfdName, MFD_CLOEXEC));
    if (fd < 0) return;  // old kernel: `leaktrace snapshot` falls back to /proc/PID/environ
    KeepPrivateFd(fd, &g_control_fd);
  }
  g_block_bytes = 0;
}

void Write(uint32_t started, uint32_t completed, const char* path) {
  if (g_inherited) CreateOwn();
  const int fd = g_control_fd.load(std::memory_order_acquire);
  if (fd < 0) return;
  // Not on the stack: the first write (at start-up) has made this page
  // resident, where a deep stack buffer is a fresh page (a fault) at exit.
  static char block[control::kThreadRequestOffset];  // the request line is the reader's
  Lines lines(block, sizeof block);
  lines.Add(control::kKeyVersion, control::kVersion);
  lines.Add(control::kKeyPid, g_process.pid);
  lines.Add(control::kKeySignal, g_config.snapshot_signal);
  lines.Add(control::kKeySignalTid, DumperThreadIdForControlBlock());
  lines.Add(control::kKeyDir, g_config.dump_dir);
  lines.Add(control::kKeyProgram, g_process.program);
  lines.Add(control::kKeyStarted, started);
  lines.Add(control::kKeyCompleted, completed);
  lines.Add(control::kKeyLast, path);
  lines.Add(control::kKeyFailed, g_failed_seq);
  // The texts are read only when set (with their seq): a page of them read
  // for the first time is a page fault, in every process.
  lines.Add(control::kKeyError, g_failed_seq != 0 ? g_failed_reason : "");
  lines.Add(control::kKeyHandover, g_handover_seq);
  lines.Add(control::kKeyHandoverFd, g_handover_fd);
  lines.Add(control::kKeyHandoverPath, g_handover_seq != 0 ? g_handover_path : "");
  lines.Add(control::kKeyHandoverOffset, static_cast<long long>(g_handover_offset));
  lines.Add(control::kKeyReaderMark, 1);
  lines.Add(control::kKeyThreadRequest, 1);
  lines.Add(control::kKeySnapshotRequest, 1);
  // Padded with newlines to the longest block written so far: the file never
  // shrinks, so a reader racing a rewrite never sees a cut-off file, and a
  // rewrite costs what it holds, not the whole capacity.
  size_t size = lines.size();
  if (size < g_block_bytes) {
    memset(block + size, '\n', g_block_bytes - size);
    size = g_block_bytes;
  }
  g_block_bytes = size;
  ssize_t ignored = pwrite(fd, block, size, 0);
  (void)ignored;
}

}  // namespace

void CreateControlBlock() {
  CreateOwn();
  Write(0, 0, "");
}

void UpdateControlBlock(uint32_t started, uint32_t completed, const char* path) { Write(started, completed, path); }

void NoteFailedSnapshot(uint32_t seq, const char* reason) {
  g_failed_seq = seq;
  snprintf(g_failed_reason, sizeof g_failed_reason, "%s", reason);
  for (char* c = g_failed_reason; *c != '\0'; ++c)
    if (*c == '\n') *c = ' ';  // one line per key
}

void NoteHandedOverSnapshot(uint32_t seq, int fd, const char* path) {
  g_handover_seq = seq;
  g_handover_fd = fd;
  g_handover_offset = 0;
  snprintf(g_handover_path, sizeof g_handover_path, "%s", path);
}

bool HandOverInControlBlock(const uint8_t* data, size_t size, uint32_t seq, const char* path) {
  const int fd = g_control_fd.load(std::memory_order_acquire);
  if (fd < 0 || g_inherited) return false;  // an inherited block is the parent's
  // Cut what an earlier, larger dump left after the block.
  if (ftruncate(fd, static_cast<off_t>(control::kBlockBytes + size)) != 0) return false;
  for (size_t done = 0; done < size;) {
    const ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(control::kBlockBytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  NoteHandedOverSnapshot(seq, fd, path);
  g_handover_offset = control::kBlockBytes;
  return true;
}

bool ControlBlockInherited() { return g_inherited; }

bool HasOwnControlBlock() { return !g_inherited && g_control_fd.load(std::memory_order_acquire) >= 0; }

namespace {

enum class Request { kNone, kThread, kSnapshot };

// The reader's line at kThreadRequestOffset, cleared when `clear` names it.
Request ReadRequest(Request clear) {
  const int fd = g_control_fd.load(std::memory_order_acquire);
  if (fd < 0 || g_inherited) return Request::kNone;  // an inherited block is the parent's: the request is for it
  char line[control::kThreadRequestBytes];
  const long n = RawSyscall(SYS_pread64, fd, line, sizeof line, control::kThreadRequestOffset);
  if (n != static_cast<long>(sizeof line)) return Request::kNone;
  const Request found = memcmp(line, control::kThreadWantedLine, sizeof line) == 0     ? Request::kThread
                        : memcmp(line, control::kSnapshotWantedLine, sizeof line) == 0 ? Request::kSnapshot
                                                                                        : Request::kNone;
  if (found != Request::kNone && found == clear) {
    memset(line, '\n', sizeof line);
    RawSyscall(SYS_pwrite64, fd, line, sizeof line, control::kThreadRequestOffset);
  }
  return found;
}

}  // namespace

bool ReaderWantsDumperThread() { return ReadRequest(Request::kThread) != Request::kNone; }

bool ReaderWantsSnapshot() { return ReadRequest(Request::kSnapshot) == Request::kSnapshot; }

LT_FORK_CHILD_CODE void ControlBlockChildAfterFork() {
  // The texts are read only while their seq is set (Write), so clearing
  // the seqs clears them, without a write (a page copied) or a read (a
  // page fault too) of theirs.
  g_failed_seq = 0;
  g_handover_seq = 0;
  g_handover_fd = -1;
  g_handover_offset = 0;
  // The inherited descriptor shares the parent's file: kept, unwritten,
  // until the child's first write makes the child's own (CreateOwn).
  g_inherited = g_control_fd.load(std::memory_order_relaxed) >= 0;
}

}  // namespace leaktrace::preload
