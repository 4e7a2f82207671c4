#include "preload/heap/bootstrap_heap.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "format/raw_mmap.h"
#include "preload/internal/errno_kept.h"

namespace leaktrace::preload {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHeapBytes = 1 << 20;
constexpr size_t kBlockOffset = 64;
// Mapped at the first bootstrap allocation, which most processes never make
// (only an allocation re-entered from leaktrace's own initialisation comes
// here). Not in .bss: the library's whole span must stay under 2 MiB
// (Transparency.TheLibrarySpansLessThanTwoMiB says why).
std::atomic<unsigned char*> g_heap{nullptr};
std::atomic<size_t> g_used{0};

// The heap, mapped now if it was not; nullptr when the system has no memory.
unsigned char* Heap() {
  unsigned char* heap = g_heap.load(std::memory_order_acquire);
  if (heap != nullptr) return heap;
  ErrnoKept kept;
  void* fresh = format::RawMapAnonymous(kHeapBytes);  // never through the mmap hook
  if (fresh == MAP_FAILED) return nullptr;
  if (!g_heap.compare_exchange_strong(heap, static_cast<unsigned char*>(fresh), std::memory_order_acq_rel)) {
    format::RawUnmap(fresh, kHeapBytes);  // another thread mapped it first: `heap` is that one
    return heap;
  }
  return static_cast<unsigned char*>(fresh);
}

}  // namespace

void* BootstrapAlloc(size_t size, size_t alignment) {
  if (alignment > kBlockOffset || size > kHeapBytes) return nullptr;
  unsigned char* heap = Heap();
  if (heap == nullptr) return nullptr;
  const size_t pages = (size + kBlockOffset + kPage - 1) / kPage;
  const size_t start = g_used.fetch_add(pages * kPage, std::memory_order_relaxed);
  if (start + pages * kPage > kHeapBytes) return nullptr;
  unsigned char* block = heap + start + kBlockOffset;
  std::memcpy(block - sizeof(size_t), &size, sizeof size);
  return block;  // a fresh mapping: already zeroed, so calloc needs nothing more
}

bool IsBootstrapBlock(const void* p) {
  const auto* c = static_cast<const unsigned char*>(p);
  const unsigned char* heap = g_heap.load(std::memory_order_acquire);
  return heap != nullptr && c >= heap && c < heap + kHeapBytes;
}

size_t BootstrapBlockSize(const void* p) {
  size_t size;
  std::memcpy(&size, static_cast<const unsigned char*>(p) - sizeof(size_t), sizeof size);
  return size;
}

}  // namespace leaktrace::preload
