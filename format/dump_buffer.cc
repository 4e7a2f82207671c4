#include "format/dump_buffer.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace leaktrace::format {

// Raw syscalls: the preload library exports mmap/munmap/mremap to track the
// program's mappings, and the dump buffer is leaktrace's own memory.
DumpBuffer::~DumpBuffer() {
  if (data_ != nullptr) syscall(SYS_munmap, data_, capacity_);
}

bool DumpBuffer::Reserve(size_t wanted) {
  if (wanted <= capacity_) return true;
  size_t capacity = capacity_ ? capacity_ : (size_t{1} << 16);
  while (capacity < wanted) capacity *= 2;
  void* grown = reinterpret_cast<void*>(
      data_ == nullptr
          ? syscall(SYS_mmap, nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
          : syscall(SYS_mremap, data_, capacity_, capacity, MREMAP_MAYMOVE));
  if (grown == MAP_FAILED) return false;
  data_ = static_cast<uint8_t*>(grown);
  capacity_ = capacity;
  return true;
}

bool DumpBuffer::Append(const void* data, size_t size) {
  if (failed_ || !Reserve(size_ + size)) {
    failed_ = true;
    return false;
  }
  std::memcpy(data_ + size_, data, size);
  size_ += size;
  return true;
}

void DumpBuffer::Patch(size_t offset, const void* data, size_t size) {
  if (offset + size <= size_) std::memcpy(data_ + offset, data, size);
}

}  // namespace leaktrace::format
