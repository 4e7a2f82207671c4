// Memory for leaktrace's own data, straight from mmap: never from the hooked
// allocator. Power-of-two size classes with free lists, carved from chunks
// that start at one page and double up to 64 KiB (every thread that
// allocates has an arena: one that holds a few sites must stay a few KiB);
// blocks above 32 KiB are mapped one by one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

// Bytes leaktrace currently has mapped for itself (all arenas, all tables).
extern LT_HIDDEN std::atomic<uint64_t> g_tracker_bytes;

// Thin wrappers over mmap/munmap that keep g_tracker_bytes. Never allocate.
// Mappings of kLargeMappingBytes or more are also registered (a fixed table,
// lock-free), so their resident part can be measured: the stack table, say,
// is mapped whole and filled sparsely.
void* MapMemory(size_t bytes);
void UnmapMemory(void* p, size_t bytes);
inline constexpr size_t kLargeMappingBytes = 256 * 1024;

// Counts `bytes` of the library's own static memory at `p` (zero, in its
// .bss) as the tracker's, as MapMemory counts a mapping: a table that
// starts there rather than in a mapping of its own (one system call less
// where the first one is used) is in the figures all the same. Called once
// for each such region, when it is first used. Never allocates.
void CountStaticMemory(void* p, size_t bytes);

// What g_tracker_bytes stands for in resident memory: every registered large
// mapping's resident bytes as `resident(start, bytes, ctx)` measures them, and
// everything else whole (large mappings the full table could not register,
// blocks mapped alone) but for the pages of arena chunks no block has
// reached yet (chunks are handed out from their start, and the tail a chunk
// had when the next one was made is never written). Any thread; a mapping
// made or dropped meanwhile may be counted either way.
uint64_t TrackerResidentBytes(uint64_t (*resident)(uintptr_t start, size_t bytes, void* ctx), void* ctx);

// Pages of a block mapped alone (zero) that its owner has not written yet
// (`delta` > 0) or has now written (< 0): left out of TrackerResidentBytes
// like an arena chunk's untouched tail. A thread's unwind cache says so of
// the sets it has not used. Any thread; lock-free.
void NoteUntouchedBytes(int64_t delta);

// Not thread-safe: one owner at a time (a shard's thread, or the dumper).
class Arena {
 public:
  // Returns nullptr when the system is out of memory.
  void* Allocate(size_t bytes);
  void Deallocate(void* p, size_t bytes);

  // What Allocate(bytes) really takes: its size class (or, above the
  // largest class, `bytes`). For callers that budget their memory.
  static size_t BlockBytes(size_t bytes);
  // True when Allocate(bytes) maps a block of its own, which is all zero.
  static constexpr bool MappedAlone(size_t bytes) { return bytes > kLargestClassBytes; }

 public:
  static constexpr int kClassCount = 12;
  static constexpr size_t kLargestClassBytes = size_t{16} << (kClassCount - 1);

 private:
  // 16 B .. 32 KiB from 64 KiB chunks; anything larger is mapped on its own
  // (a class must never outgrow a chunk).
  static constexpr int kClasses = kClassCount;
  static int ClassOf(size_t bytes);

  struct FreeBlock { FreeBlock* next; };
  FreeBlock* free_[kClasses] = {};
  char* chunk_ = nullptr;
  char* touched_end_ = nullptr;  // the chunk's pages below this have been handed out
  size_t chunk_left_ = 0;
  size_t next_chunk_bytes_ = 0;  // 0: no chunk yet
};

// An std allocator on an Arena, for the std containers inside the library
// (mapping_table.cc's map).
template <typename T>
class ArenaAllocator {
 public:
  using value_type = T;
  explicit ArenaAllocator(Arena* arena) : arena_(arena) {}
  template <typename U>
  ArenaAllocator(const ArenaAllocator<U>& other) : arena_(other.arena()) {}

  T* allocate(size_t n) {
    void* p = arena_->Allocate(n * sizeof(T));
    // Containers here are only grown behind a capacity check (see Shard), so
    // running out is fatal only when mmap itself fails: stop the process the
    // way a failed operator new would, rather than corrupt it.
    if (p == nullptr) __builtin_trap();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) { arena_->Deallocate(p, n * sizeof(T)); }
  Arena* arena() const { return arena_; }
  template <typename U>
  bool operator==(const ArenaAllocator<U>& o) const { return arena_ == o.arena(); }
  template <typename U>
  bool operator!=(const ArenaAllocator<U>& o) const { return arena_ != o.arena(); }

 private:
  Arena* arena_;
};

}  // namespace leaktrace::preload
