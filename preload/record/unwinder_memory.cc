// libunwind's memory, placed out of the program's way (format/raw_mmap.h).
//
// libunwind maps its caches and pools (and, for a library without an
// .eh_frame_hdr, the ELF file it reads) with mmap, or with syscall(SYS_mmap)
// where it wants no libc call. Placed by the kernel, such a mapping may land
// in a range the program just unmapped and is about to map again with
// MAP_FIXED, which would overwrite libunwind's state. The build renames
// libunwind's mmap to leaktrace_unwinder_mmap (unwinder_imports.syms), and
// its syscall wrapper (unwinder_fds.cc) sends SYS_mmap here too.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "format/raw_mmap.h"
#include "preload/record/unwinder.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {

void* UnwinderMap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (addr != nullptr || (flags & MAP_FIXED) != 0)
    return reinterpret_cast<void*>(RawSyscall(SYS_mmap, addr, length, prot, flags, fd, offset));
  if ((flags & MAP_ANONYMOUS) != 0) return format::RawMapOwn(length, prot, flags & ~MAP_ANONYMOUS);
  // A file: onto a range of leaktrace's zone, which the mapping replaces.
  void* range = format::RawMapOwn(length, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
  if (range == MAP_FAILED) return reinterpret_cast<void*>(RawSyscall(SYS_mmap, nullptr, length, prot, flags, fd, offset));
  void* p = reinterpret_cast<void*>(RawSyscall(SYS_mmap, range, length, prot, flags | MAP_FIXED, fd, offset));
  if (p == MAP_FAILED) format::RawUnmap(range, length);
  return p;
}

}  // namespace leaktrace::preload

extern "C" void* leaktrace_unwinder_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return leaktrace::preload::UnwinderMap(addr, length, prot, flags, fd, offset);
}
