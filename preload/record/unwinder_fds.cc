// libunwind's descriptors, made private (private_fds.h).
//
// libunwind keeps a pipe for its memory validation (created at the first
// unwind; every access through it is a read and a write of one byte), and
// opens ELF files it reads unwind tables from. Left alone, the pipe takes the
// program's lowest free numbers (3 and 4 in most programs) for the life of
// the process: a program that closes every descriptor at start-up and
// reuses those numbers would then have its own descriptors read from,
// written to, closed and replaced by libunwind. So libunwind's imports of
// open, close, pipe2, read, write and syscall are pointed at the functions
// below (its import slots rewritten, got_rewrite.h): what libunwind creates
// is parked and registered as private, and it may only read, write or close
// what it created. When the program took one of its numbers meanwhile (a
// dup2 onto it), libunwind gets EBADF, which it answers by making a new pipe.
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/interpose/got_rewrite.h"
#include "preload/internal/private_fds.h"
#include "preload/record/unwinder.h"

namespace leaktrace::preload {
namespace {

int UnwOpen(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (__OPEN_NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return OpenPrivateFd(path, flags, mode, nullptr);
}

int UnwPipe2(int fds[2], int flags) {
  int made[2];
  if (syscall(SYS_pipe2, made, flags | O_CLOEXEC) != 0) return -1;
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
  return 0;
}

int UnwClose(int fd) { return ClosePrivateFd(fd); }

ssize_t UnwRead(int fd, void* buf, size_t size) {
  if (!IsPrivateFd(fd)) {
    errno = EBADF;
    return -1;
  }
  return syscall(SYS_read, fd, buf, size);
}

ssize_t UnwWrite(int fd, const void* buf, size_t size) {
  if (!IsPrivateFd(fd)) {
    errno = EBADF;
    return -1;
  }
  return syscall(SYS_write, fd, buf, size);
}

// syscall(2) is variadic; on x86-64 its arguments travel in the same
// registers as six longs.
long UnwSyscall(long number, long a, long b, long c, long d, long e, long f) {
  if ((number == SYS_read || number == SYS_write) && !IsPrivateFd(static_cast<int>(a))) {
    errno = EBADF;
    return -1;
  }
  return syscall(number, a, b, c, d, e, f);
}

void* UnwinderImport(const ImportSlot& slot, void*) {
  const char* n = slot.name;
  if (strcmp(n, "open") == 0 || strcmp(n, "open64") == 0) return reinterpret_cast<void*>(&UnwOpen);
  if (strcmp(n, "pipe2") == 0) return reinterpret_cast<void*>(&UnwPipe2);
  if (strcmp(n, "close") == 0) return reinterpret_cast<void*>(&UnwClose);
  if (strcmp(n, "read") == 0) return reinterpret_cast<void*>(&UnwRead);
  if (strcmp(n, "write") == 0) return reinterpret_cast<void*>(&UnwWrite);
  if (strcmp(n, "syscall") == 0) return reinterpret_cast<void*>(&UnwSyscall);
  return nullptr;
}

struct Find {
  uintptr_t probe;
  LoadedModule module;
  bool found = false;
};

int FindModule(dl_phdr_info* info, size_t, void* data) {
  auto* f = static_cast<Find*>(data);
  LoadedModule m;
  if (!DescribeModule(*info, m)) return 0;
  if (f->probe < m.image_begin || f->probe >= m.image_end) return 0;
  f->module = m;
  f->found = true;
  return 1;
}

}  // namespace

bool RedirectUnwinderDescriptors(const void* unwinder_function) {
  Find f{reinterpret_cast<uintptr_t>(unwinder_function), {}};
  dl_iterate_phdr(FindModule, &f);
  if (!f.found) return false;
  RewriteImports(f.module, UnwinderImport, nullptr);
  return true;
}

}  // namespace leaktrace::preload
