#include "preload/internal/dump_scratch.h"

#include <string.h>

#include <cstdint>

#include "preload/internal/arena.h"

namespace leaktrace::preload {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kAlign = 64;
// The last page is the never-written one; the rest is handed out.
constexpr size_t kUsableBytes = kDumpScratchBytes - kPage;

// Mapped at the first dump, kept (a fork child keeps its parent's copy).
char* g_reserve = nullptr;
size_t g_used = 0;
size_t g_ever_used = 0;  // above this, the reserve is as mmap left it: zero, and untouched

bool EnsureReserve() {
  if (g_reserve == nullptr) g_reserve = static_cast<char*>(MapMemory(kDumpScratchBytes));
  return g_reserve != nullptr;
}

bool InReserve(const void* p) {
  const auto* c = static_cast<const char*>(p);
  return g_reserve != nullptr && c >= g_reserve && c < g_reserve + kUsableBytes;
}

}  // namespace

void BeginDumpScratch() { g_used = 0; }

void* DumpScratchAllocate(size_t bytes) {
  const size_t rounded = (bytes + kAlign - 1) & ~(kAlign - 1);
  if (rounded != 0 && rounded <= kUsableBytes - g_used && EnsureReserve()) {
    char* p = g_reserve + g_used;
    // Zero what an earlier dump used; the rest is zero already, and left
    // untouched (a sparse table touches only the pages it uses).
    if (g_used < g_ever_used) memset(p, 0, bytes < g_ever_used - g_used ? bytes : g_ever_used - g_used);
    g_used += rounded;
    if (g_used > g_ever_used) g_ever_used = g_used;
    return p;
  }
  return MapMemory(bytes);  // fresh from the kernel: zeroed
}

void DumpScratchFree(void* p, size_t bytes) {
  if (p == nullptr || InReserve(p)) return;
  UnmapMemory(p, bytes);
}

const void* DumpScratchNeverWrittenPage() { return EnsureReserve() ? g_reserve + kUsableBytes : nullptr; }

}  // namespace leaktrace::preload
