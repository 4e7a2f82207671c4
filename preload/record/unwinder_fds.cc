// libunwind's descriptors, made private (private_fds.h).
//
// libunwind keeps a pipe for its memory validation (made when a check of a
// word outside the thread's stack first needs it; every access through it
// is a read and a write of one byte), and
// opens ELF files it reads unwind tables from. Left alone, the pipe takes the
// program's lowest free numbers (3 and 4 in most programs) for the life of
// the process: a program that closes every descriptor at start-up and
// reuses those numbers would then have its own descriptors read from,
// written to, closed and replaced by libunwind. So libunwind's calls to
// open, close, pipe2, read, write and syscall come here instead: the build
// renames them in its archive (unwinder_imports.syms, applied by
// preload/CMakeLists.txt to the libunwind scripts/build-unwinder.sh built).
// What libunwind creates is parked and registered as private, and it may
// only read, write or close what it created. When the program took one of
// its numbers meanwhile (a dup2 onto it), libunwind gets EBADF, which it
// answers by making a new pipe.
//
// The pipe itself is only pretended: its two numbers are ones no
// descriptor can have, a check of an address (libunwind writes one byte
// from it into the pipe) is a process_vm_readv of that byte from this very
// process (EFAULT: unreadable, as the write's), and the drain before it
// (a read) finds the pipe empty. So libunwind holds no descriptor at all:
// none of the program's numbers is taken, even under a limit of 8
// descriptors. Where process_vm_readv is refused (a kernel or container
// without it), the next check makes a real pipe, as before; so from the
// start under a seccomp filter the process inherited.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>

#include "preload/internal/private_fds.h"

#include "preload/record/unwinder.h"
#include "preload/internal/raw_syscall.h"

using namespace leaktrace::preload;

namespace {

// The ends of libunwind's pipe, as made by the last pipe2 (-1: none, or let
// go). libunwind keeps its own copy of the numbers; these are for
// ReleaseUnwinderPipe only.
std::atomic<int> g_pipe_ends[2] = {-1, -1};

// The pretended pipe's ends: above any descriptor number the kernel hands
// out (its table never grows past fs.nr_open, at most 2^30 here).
constexpr int kPretendedRead = 0x7ffffff0;
constexpr int kPretendedWrite = 0x7ffffff1;
bool Pretended(int fd) { return fd == kPretendedRead || fd == kPretendedWrite; }
// Set when process_vm_readv was refused (not EFAULT): real pipes from then on.
std::atomic<bool> g_readv_refused{false};

// The real pipe behind the pretended one in a sandbox
// (PrepareUnwinderPipeForSandbox): its read and write ends, -1 for none.
std::atomic<int> g_behind[2] = {-1, -1};

// One byte at `addr` read by process_vm_readv of this very process: 1, or
// -1 with the call's errno (EFAULT: unreadable; anything else: refused).
long ReadOwnByte(const void* addr) {
  char byte;
  iovec local = {&byte, 1};
  iovec remote = {const_cast<void*>(addr), 1};
  return RawSyscall(SYS_process_vm_readv, static_cast<long>(RawSyscall(SYS_getpid)), &local, 1, &remote, 1, 0);
}

// libunwind's write of one byte at `addr` into the pretended pipe: 1 when
// the byte is readable; -1 with EFAULT when not, or with EBADF when
// process_vm_readv is refused (the next check then finds the pipe gone,
// and makes a real one). errno is left alone on success, as a write's.
long PretendedWrite(const void* addr) {
  if (SandboxEntered()) {
    // No process_vm_readv under the program's filter: the pipe behind, or
    // the address counts as unreadable.
    const int behind = g_behind[1].load(std::memory_order_acquire);
    if (behind >= 0 && IsPrivateFd(behind)) return RawSyscall(SYS_write, behind, addr, 1);
    errno = EFAULT;
    return -1;
  }
  const int saved_errno = errno;
  if (ReadOwnByte(addr) == 1) {
    errno = saved_errno;
    return 1;
  }
  if (errno != EFAULT) {
    g_readv_refused.store(true, std::memory_order_relaxed);
    errno = EBADF;
  }
  return -1;
}

// libunwind's drain of the pretended pipe: empty (EAGAIN), or gone (EBADF)
// once process_vm_readv was refused.
long PretendedRead() {
  if (SandboxEntered()) {
    const int behind = g_behind[0].load(std::memory_order_acquire);
    char byte;
    if (behind >= 0 && IsPrivateFd(behind)) return RawSyscall(SYS_read, behind, &byte, 1);
    errno = EAGAIN;  // as empty: no new pipe asked for inside the sandbox
    return -1;
  }
  errno = g_readv_refused.load(std::memory_order_relaxed) ? EBADF : EAGAIN;
  return -1;
}

}  // namespace

namespace leaktrace::preload {

bool ByteReadable(const void* addr) {
  if (SandboxEntered() || g_readv_refused.load(std::memory_order_relaxed)) return true;
  const int saved_errno = errno;
  const bool unreadable = ReadOwnByte(addr) != 1 && errno == EFAULT;
  errno = saved_errno;
  return !unreadable;
}

void PrepareUnwinderPipeForSandbox() {
  if (g_readv_refused.load(std::memory_order_relaxed) || g_behind[0].load(std::memory_order_acquire) >= 0 ||
      DescriptorLimitIsTight())
    return;
  const int saved_errno = errno;
  int made[2];
  PrivateFdMaking making;
  if (RawSyscall(SYS_pipe2, made, O_CLOEXEC | O_NONBLOCK) == 0) {
    const int read_end = AdoptPrivateFd(made[0], nullptr);
    const int write_end = AdoptPrivateFd(made[1], nullptr);
    if (read_end >= 0 && write_end >= 0) {
      g_behind[0].store(read_end, std::memory_order_release);
      g_behind[1].store(write_end, std::memory_order_release);
    } else {
      if (read_end >= 0) ClosePrivateFd(read_end);
      if (write_end >= 0) ClosePrivateFd(write_end);
    }
  }
  errno = saved_errno;
}

bool ReleaseUnwinderPipe() {
  bool released = false;
  for (std::atomic<int>& end : g_pipe_ends) {
    const int fd = end.exchange(-1, std::memory_order_acq_rel);
    // Closes only while still registered as ours: a number the program took
    // meanwhile (dup2 onto it) is left alone.
    if (fd >= 0 && ClosePrivateFd(fd) == 0) released = true;
  }
  return released;
}

}  // namespace leaktrace::preload

// The names libunwind's calls are renamed to (unwinder_imports.syms). They
// are hidden like the rest of the library: only libunwind, linked in, calls
// them.
extern "C" {

int leaktrace_unwinder_open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (__OPEN_NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return OpenPrivateFd(path, flags, mode, nullptr);
}

int leaktrace_unwinder_pipe2(int fds[2], int flags) {
  // The pipe is made when a validation first needs it (unwinder-patches/05),
  // which may be after the program entered a seccomp sandbox whose filter
  // kills it for a pipe2: refused then, without the call, unless a pipe
  // was made behind the pretended one before the filter went in. libunwind
  // then counts the address as unreadable and the unwind stops there.
  // Otherwise the pretended pipe, or a real one once process_vm_readv was
  // refused.
  if (SandboxEntered() && g_behind[0].load(std::memory_order_acquire) < 0) {
    errno = EPERM;
    return -1;
  }
  // Under a filter the process inherited (a systemd unit's
  // SystemCallFilter=, a container's profile), which may kill it for a
  // process_vm_readv where it allows a pipe's calls: a real pipe, as
  // before the pretended one. One prctl, at the first check only.
  if (!g_readv_refused.load(std::memory_order_relaxed) && !SandboxEntered() &&
      RawSyscall(SYS_prctl, PR_GET_SECCOMP) != 0)
    g_readv_refused.store(true, std::memory_order_relaxed);
  if (!g_readv_refused.load(std::memory_order_relaxed) || SandboxEntered()) {
    fds[0] = kPretendedRead;
    fds[1] = kPretendedWrite;
    return 0;
  }
  int made[2];
  PrivateFdMaking making;
  if (RawSyscall(SYS_pipe2, made, flags | O_CLOEXEC) != 0) return -1;
  const int read_end = AdoptPrivateFd(made[0], nullptr);
  const int write_end = AdoptPrivateFd(made[1], nullptr);
  if (read_end < 0 || write_end < 0) {
    if (read_end >= 0) ClosePrivateFd(read_end);
    if (write_end >= 0) ClosePrivateFd(write_end);
    errno = EMFILE;
    return -1;
  }
  fds[0] = read_end;
  fds[1] = write_end;
  g_pipe_ends[0].store(read_end, std::memory_order_release);
  g_pipe_ends[1].store(write_end, std::memory_order_release);
  return 0;
}

int leaktrace_unwinder_close(int fd) { return Pretended(fd) ? 0 : ClosePrivateFd(fd); }

ssize_t leaktrace_unwinder_read(int fd, void* buf, size_t size) {
  if (Pretended(fd)) return PretendedRead();
  if (!IsPrivateFd(fd)) {
    errno = EBADF;
    return -1;
  }
  return RawSyscall(SYS_read, fd, buf, size);
}

ssize_t leaktrace_unwinder_write(int fd, const void* buf, size_t size) {
  if (Pretended(fd)) return size == 0 ? 0 : PretendedWrite(buf);
  if (!IsPrivateFd(fd)) {
    errno = EBADF;
    return -1;
  }
  return RawSyscall(SYS_write, fd, buf, size);
}

// syscall(2) is variadic; on x86-64 its arguments travel in the same
// registers as six longs.
long leaktrace_unwinder_syscall(long number, long a, long b, long c, long d, long e, long f) {
  if ((number == SYS_read || number == SYS_write) && Pretended(static_cast<int>(a))) {
    if (number == SYS_read) return PretendedRead();
    return c == 0 ? 0 : PretendedWrite(reinterpret_cast<const void*>(b));
  }
  if ((number == SYS_read || number == SYS_write) && !IsPrivateFd(static_cast<int>(a))) {
    errno = EBADF;
    return -1;
  }
  if (number == SYS_mmap) {
    void* p = UnwinderMap(reinterpret_cast<void*>(a), static_cast<size_t>(b), static_cast<int>(c), static_cast<int>(d),
                          static_cast<int>(e), static_cast<off_t>(f));
    return reinterpret_cast<long>(p);
  }
  return syscall(number, a, b, c, d, e, f);
}

}  // extern "C"

