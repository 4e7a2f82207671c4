#include "format/dump_buffer.h"

#include <sys/mman.h>

#include <cstring>

namespace leaktrace::format {

DumpBuffer::~DumpBuffer() {
  if (data_ != nullptr) munmap(data_, capacity_);
}

bool DumpBuffer::Reserve(size_t wanted) {
  if (wanted <= capacity_) return true;
  size_t capacity = capacity_ ? capacity_ : (size_t{1} << 16);
  while (capacity < wanted) capacity *= 2;
  void* grown = data_ == nullptr
                    ? mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                    : mremap(data_, capacity_, capacity, MREMAP_MAYMOVE);
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
