// mmap, mmap64, munmap and mremap as the program sees them. Mappings made by
// the allocator (its module calling mmap) and by leaktrace (which maps its
// own memory with raw system calls anyway) are forwarded untouched; the
// program's own are recorded in mapping_table with their stack.
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/internal/compiler.h"
#include "preload/interpose/real_functions.h"
#include "preload/resources/resource_paths.h"
#include "preload/internal/raw_syscall.h"

using namespace leaktrace::preload;

namespace {

LT_ALWAYS_INLINE void* Map(void* (*fn)(void*, size_t, int, int, int, off_t), const void* caller, void* addr,
                           size_t length, int prot, int flags, int fd, off_t offset) {
  void* p = fn ? fn(addr, length, prot, flags, fd, offset)
               : reinterpret_cast<void*>(RawSyscall(SYS_mmap, addr, length, prot, flags, fd, offset));
  if (p != MAP_FAILED && TrackingMappingFrom(caller)) RecordMapping(p, length, flags, fd);
  return p;
}

}  // namespace

LT_EXPORT void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  EnsureReal();
  return Map(real.mmap, __builtin_return_address(0), addr, length, prot, flags, fd, offset);
}

LT_EXPORT void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  EnsureReal();
  return Map(real.mmap64 ? real.mmap64 : real.mmap, __builtin_return_address(0), addr, length, prot, flags,
             fd, offset);
}

LT_EXPORT int munmap(void* addr, size_t length) {
  EnsureReal();
  if (TrackingMappingFrom(__builtin_return_address(0))) return UnmapTracked(addr, length);
  return real.munmap ? real.munmap(addr, length) : static_cast<int>(RawSyscall(SYS_munmap, addr, length));
}

LT_EXPORT void* mremap(void* old, size_t old_size, size_t new_size, int flags, ...) {
  void* new_address = nullptr;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    new_address = va_arg(ap, void*);
    va_end(ap);
  }
  EnsureReal();
  if (TrackingMappingFrom(__builtin_return_address(0))) return RemapTracked(old, old_size, new_size, flags, new_address);
  return real.mremap ? real.mremap(old, old_size, new_size, flags, new_address)
                        : reinterpret_cast<void*>(RawSyscall(SYS_mremap, old, old_size, new_size, flags, new_address));
}
