#include "preload/heap/bootstrap_heap.h"

#include <atomic>
#include <cstdint>
#include <cstring>

namespace leaktrace::preload {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHeapBytes = 1 << 20;
constexpr size_t kBlockOffset = 64;
alignas(kPage) unsigned char g_heap[kHeapBytes];
std::atomic<size_t> g_used{0};

}  // namespace

void* BootstrapAlloc(size_t size, size_t alignment) {
  if (alignment > kBlockOffset || size > kHeapBytes) return nullptr;
  const size_t pages = (size + kBlockOffset + kPage - 1) / kPage;
  const size_t start = g_used.fetch_add(pages * kPage, std::memory_order_relaxed);
  if (start + pages * kPage > kHeapBytes) return nullptr;
  unsigned char* block = g_heap + start + kBlockOffset;
  std::memcpy(block - sizeof(size_t), &size, sizeof size);
  return block;  // static storage: already zeroed, so calloc needs nothing more
}

bool IsBootstrapBlock(const void* p) {
  const auto* c = static_cast<const unsigned char*>(p);
  return c >= g_heap && c < g_heap + kHeapBytes;
}

size_t BootstrapBlockSize(const void* p) {
  size_t size;
  std::memcpy(&size, static_cast<const unsigned char*>(p) - sizeof(size_t), sizeof size);
  return size;
}

}  // namespace leaktrace::preload
