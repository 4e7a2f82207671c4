#include "preload/internal/arena.h"

#include "format/raw_mmap.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace leaktrace::preload {

std::atomic<uint64_t> g_tracker_bytes{0};

namespace {
constexpr size_t kFirstChunkBytes = 4 << 10;
constexpr size_t kChunkBytes = 64 << 10;  // the largest chunk
constexpr size_t kMinClassBytes = 16;
}  // namespace

static_assert((kMinClassBytes << (Arena::kClassCount - 1)) <= kChunkBytes, "a size class must fit in a chunk");

void* MapMemory(size_t bytes) {
  void* p = format::RawMapAnonymous(bytes);  // never through the mmap hook
  if (p == MAP_FAILED) return nullptr;
  g_tracker_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return p;
}

void UnmapMemory(void* p, size_t bytes) {
  if (p == nullptr) return;
  format::RawUnmap(p, bytes);
  g_tracker_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

int Arena::ClassOf(size_t bytes) {
  size_t size = kMinClassBytes;
  int c = 0;
  while (size < bytes) size <<= 1, ++c;
  return c;
}

size_t Arena::BlockBytes(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const int c = ClassOf(bytes);
  return c >= kClasses ? bytes : kMinClassBytes << c;
}

void* Arena::Allocate(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const int c = ClassOf(bytes);
  if (c >= kClasses) return MapMemory(bytes);
  if (FreeBlock* b = free_[c]) {
    free_[c] = b->next;
    return b;
  }
  const size_t size = kMinClassBytes << c;
  if (chunk_left_ < size) {
    // The rest of the old chunk is dropped: bounded waste, no bookkeeping.
    // Each chunk is twice the last (up to kChunkBytes), and big enough for
    // this block.
    size_t chunk_bytes = next_chunk_bytes_ == 0 ? kFirstChunkBytes : next_chunk_bytes_;
    while (chunk_bytes < size) chunk_bytes <<= 1;
    chunk_ = static_cast<char*>(MapMemory(chunk_bytes));
    if (chunk_ == nullptr) {
      chunk_left_ = 0;
      return nullptr;
    }
    chunk_left_ = chunk_bytes;
    next_chunk_bytes_ = chunk_bytes < kChunkBytes ? chunk_bytes * 2 : kChunkBytes;
  }
  void* p = chunk_;
  chunk_ += size;
  chunk_left_ -= size;
  return p;
}

void Arena::Deallocate(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes == 0) bytes = 1;
  const int c = ClassOf(bytes);
  if (c >= kClasses) {
    UnmapMemory(p, bytes);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = free_[c];
  free_[c] = b;
}

}  // namespace leaktrace::preload
