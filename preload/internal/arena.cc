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
constexpr uintptr_t kPageBytes = 4096;
// The pages of arena chunks that no block handed out has reached yet: the
// tail of each chunk, the current one's and those dropped half used. Never
// written, so never resident, and TrackerResidentBytes leaves them out.
LT_EARLY_STATE std::atomic<uint64_t> g_untouched_bytes{0};
}  // namespace

static_assert((kMinClassBytes << (Arena::kClassCount - 1)) <= kChunkBytes, "a size class must fit in a chunk");

namespace {

// The large mappings (TrackerResidentBytes). start 0: a free slot.
struct LargeMapping {
  std::atomic<uintptr_t> start;
  std::atomic<size_t> bytes;
};
constexpr int kLargeSlots = 256;
struct LargeTable {
  // One more than the highest slot ever used: the walks stop there, so a
  // process with few large mappings reads the table's first page only (a
  // page read for the first time is a page fault). Beside the first slots.
  std::atomic<int> used;
  LargeMapping slots[kLargeSlots];
};
LargeTable g_large;

void RegisterLarge(void* p, size_t bytes) {
  for (int i = 0; i < kLargeSlots; ++i) {
    LargeMapping& m = g_large.slots[i];
    uintptr_t expected = 0;
    if (m.start.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(p), std::memory_order_acq_rel)) {
      m.bytes.store(bytes, std::memory_order_release);
      int used = g_large.used.load(std::memory_order_relaxed);
      while (used < i + 1 &&
             !g_large.used.compare_exchange_weak(used, i + 1, std::memory_order_release, std::memory_order_relaxed)) {
      }
      return;
    }
  }
}

void UnregisterLarge(void* p) {
  const int used = g_large.used.load(std::memory_order_acquire);
  for (int i = 0; i < used; ++i)
    if (LargeMapping& m = g_large.slots[i]; m.start.load(std::memory_order_acquire) == reinterpret_cast<uintptr_t>(p)) {
      m.bytes.store(0, std::memory_order_release);
      m.start.store(0, std::memory_order_release);
      return;
    }
}

}  // namespace

void* MapMemory(size_t bytes) {
  void* p = format::RawMapAnonymous(bytes);  // never through the mmap hook
  if (p == MAP_FAILED) return nullptr;
  if (bytes >= kLargeMappingBytes) RegisterLarge(p, bytes);
  g_tracker_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return p;
}

void CountStaticMemory(void* p, size_t bytes) {
  if (bytes >= kLargeMappingBytes) RegisterLarge(p, bytes);
  g_tracker_bytes.fetch_add(bytes, std::memory_order_relaxed);
}

void UnmapMemory(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes >= kLargeMappingBytes) UnregisterLarge(p);
  format::RawUnmap(p, bytes);
  g_tracker_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

uint64_t TrackerResidentBytes(uint64_t (*resident)(uintptr_t start, size_t bytes, void* ctx), void* ctx) {
  uint64_t large = 0, large_resident = 0;
  const int used = g_large.used.load(std::memory_order_acquire);
  for (int i = 0; i < used; ++i) {
    LargeMapping& m = g_large.slots[i];
    const uintptr_t start = m.start.load(std::memory_order_acquire);
    const size_t bytes = m.bytes.load(std::memory_order_acquire);
    if (start == 0 || bytes == 0) continue;
    large += bytes;
    large_resident += resident(start, bytes, ctx);
  }
  const uint64_t all = g_tracker_bytes.load(std::memory_order_relaxed);
  const uint64_t small = all > large ? all - large : 0;
  const uint64_t untouched = g_untouched_bytes.load(std::memory_order_relaxed);
  return (small > untouched ? small - untouched : 0) + large_resident;
}

void NoteUntouchedBytes(int64_t delta) {
  g_untouched_bytes.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
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
    touched_end_ = chunk_;
    g_untouched_bytes.fetch_add(chunk_bytes, std::memory_order_relaxed);
  }
  void* p = chunk_;
  chunk_ += size;
  chunk_left_ -= size;
  // The pages the chunk has handed out now reach further: they are no
  // longer untouched (a page past the last block handed out never is).
  char* const end = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(chunk_) + kPageBytes - 1) & ~(kPageBytes - 1));
  if (end > touched_end_) {
    g_untouched_bytes.fetch_sub(static_cast<uint64_t>(end - touched_end_), std::memory_order_relaxed);
    touched_end_ = end;
  }
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
