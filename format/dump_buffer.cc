#include "format/dump_buffer.h"

#include <sys/mman.h>

#include <cstring>

#include "format/raw_mmap.h"

namespace leaktrace::format {

// The dump buffer is leaktrace's own memory: raw_mmap.h says why not mmap().
DumpBuffer::~DumpBuffer() {
  if (data_ != nullptr) RawUnmap(data_, capacity_);
}

bool DumpBuffer::Reserve(size_t wanted) {
  if (wanted <= capacity_) return true;
  size_t capacity = capacity_ ? capacity_ : (size_t{1} << 16);
  while (capacity < wanted) capacity *= 2;
  void* grown = data_ == nullptr ? RawMapAnonymous(capacity) : RawRemap(data_, capacity_, capacity);
  if (grown == MAP_FAILED) return false;
  data_ = static_cast<uint8_t*>(grown);
  capacity_ = capacity;
  return true;
}

bool DumpBuffer::AppendSlow(const void* data, size_t size) {
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
