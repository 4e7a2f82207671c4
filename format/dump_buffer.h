// A growable byte buffer backed directly by mmap/mremap, never by malloc, so
// the preload library can build a dump without touching the hooked allocator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaktrace::format {

// Not thread-safe: one owner builds one dump. Never allocates through malloc.
class DumpBuffer {
 public:
  DumpBuffer() = default;
  ~DumpBuffer();
  DumpBuffer(const DumpBuffer&) = delete;
  DumpBuffer& operator=(const DumpBuffer&) = delete;

  // Appends bytes; returns false (and keeps what it had) when memory runs out.
  // Inline while the bytes fit (a dump is built from thousands of fields of
  // 1 to 8 bytes: a call and a copy of unknown length for each cost a
  // tenth of an exit dump's time); AppendSlow grows the buffer.
  bool Append(const void* data, size_t size) {
    if (__builtin_expect(size <= capacity_ - size_ && !failed_, 1)) {
      __builtin_memcpy(data_ + size_, data, size);
      size_ += size;
      return true;
    }
    return AppendSlow(data, size);
  }
  // Overwrites bytes already appended at `offset`.
  void Patch(size_t offset, const void* data, size_t size);
  void Clear() { size_ = 0; failed_ = false; }
  // Forgets the memory without unmapping it, for a process about to end
  // (its exit dump): exit frees every mapping at once, where an munmap of
  // its own would cost a TLB shoot-down. The buffer is then empty.
  void Abandon() {
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // True once any Append failed: the buffer's content is then incomplete.
  bool failed() const { return failed_; }

 private:
  bool Reserve(size_t wanted);
  bool AppendSlow(const void* data, size_t size);

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  bool failed_ = false;
};

}  // namespace leaktrace::format
