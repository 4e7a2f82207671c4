#include "preload/resources/open_fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/internal/private_fds.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {

namespace {

// One reading of /proc/self/fd.
long ReadFdDirectory(int* numbers, long capacity) {
  const int dir = static_cast<int>(RawSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/self/fd"),
                                              O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir < 0) return -1;
  long count = 0;
  alignas(8) char buffer[8192];
  for (;;) {
    const long n = RawSyscall(SYS_getdents64, dir, reinterpret_cast<long>(buffer), sizeof buffer);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const struct dirent64*>(buffer + off);
      off += d->d_reclen;
      char* end = nullptr;
      const long fd = strtol(d->d_name, &end, 10);
      if (end == d->d_name || *end != '\0' || fd == dir || fd < 0 || fd > INT32_MAX) continue;
      if (IsPrivateFd(static_cast<int>(fd))) continue;
      if (count < capacity) numbers[count] = static_cast<int>(fd);
      ++count;
    }
  }
  RawSyscall(SYS_close, dir);
  return count;
}

}  // namespace

long ListProgramFds(int* numbers, long capacity, int tries) {
  long count = -1;
  for (int attempt = 0; attempt < tries; ++attempt) {
    const long before = PrivateFdMakingsSettled();
    count = ReadFdDirectory(numbers, capacity);
    if (count < 0 || (before >= 0 && PrivateFdMakingsSettled() == before)) break;
    const timespec pause = {0, 1000000};  // a making is a few system calls
    RawSyscall(SYS_nanosleep, reinterpret_cast<long>(&pause), 0);
  }
  return count;
}

}  // namespace leaktrace::preload
