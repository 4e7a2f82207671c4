// Anonymous memory straight from the kernel, for leaktrace's own use.
//
// Raw syscalls, not mmap/munmap: libleaktrace.so exports those (to track the
// program's mappings), and its own memory must neither recurse into the hooks
// nor show up as the program's. Under ThreadSanitizer (the tests' TSan build,
// which has no hooks) the libc functions are used instead, so the sanitizer
// sees memory being unmapped and reused.
#pragma once

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

namespace leaktrace::format {

inline void* RawMapAnonymous(size_t bytes) {
#if defined(__SANITIZE_THREAD__)
  return mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#else
  return reinterpret_cast<void*>(
      syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
#endif
}

inline void RawUnmap(void* p, size_t bytes) {
#if defined(__SANITIZE_THREAD__)
  munmap(p, bytes);
#else
  syscall(SYS_munmap, p, bytes);
#endif
}

inline void* RawRemap(void* p, size_t old_bytes, size_t new_bytes) {
#if defined(__SANITIZE_THREAD__)
  return mremap(p, old_bytes, new_bytes, MREMAP_MAYMOVE);
#else
  return reinterpret_cast<void*>(syscall(SYS_mremap, p, old_bytes, new_bytes, MREMAP_MAYMOVE));
#endif
}

}  // namespace leaktrace::format
