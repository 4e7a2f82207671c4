#include "preload/resources/fd_table.h"

#include "preload/internal/arena.h"
#include "preload/internal/coarse_clock.h"

namespace leaktrace::preload {

namespace fd_table_detail {
std::atomic<std::atomic<uint64_t>*> g_chunks[kChunks];
std::atomic<int> g_high{0};
}  // namespace fd_table_detail

namespace {

using namespace fd_table_detail;

std::atomic<uint64_t> g_failures{0};
constexpr size_t kChunkBytes = sizeof(std::atomic<uint64_t>) * kChunkSlots * 2;  // (word, birth) pairs

std::atomic<uint64_t>* ChunkFor(uint32_t fd, bool create) {
  std::atomic<std::atomic<uint64_t>*>& link = g_chunks[fd >> kChunkBits];
  std::atomic<uint64_t>* chunk = link.load(std::memory_order_acquire);
  if (chunk != nullptr || !create) return chunk;
  auto* fresh = static_cast<std::atomic<uint64_t>*>(MapMemory(kChunkBytes));  // zeroed: all slots empty
  if (fresh == nullptr) return nullptr;
  if (link.compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) return fresh;
  UnmapMemory(fresh, kChunkBytes);  // another thread published one first
  return chunk;
}

}  // namespace

void FdRecord(int fd, uint32_t stack_id, uint32_t label_id) {
  if (fd < 0 || stack_id == 0) return;
  std::atomic<uint64_t>* chunk = ChunkFor(static_cast<uint32_t>(fd), true);
  if (chunk == nullptr) {
    g_failures.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint64_t v = (static_cast<uint64_t>(stack_id) << 32) | label_id;
  const uint32_t slot = static_cast<uint32_t>(fd) & (kChunkSlots - 1);
  // A reader may be mid-walk: the birth first, then the word that publishes it.
  BirthAt(chunk, slot).store(CoarseMonotonicNs(), std::memory_order_relaxed);
  WordAt(chunk, slot).store(v, std::memory_order_release);
  int high = g_high.load(std::memory_order_relaxed);
  while (high <= fd && !g_high.compare_exchange_weak(high, fd + 1, std::memory_order_acq_rel)) {
  }
}

void FdForget(int fd) {
  if (fd < 0 || fd >= g_high.load(std::memory_order_relaxed)) return;
  if (std::atomic<uint64_t>* chunk = ChunkFor(static_cast<uint32_t>(fd), false))
    WordAt(chunk, static_cast<uint32_t>(fd) & (kChunkSlots - 1)).store(0, std::memory_order_release);
}

void FdForgetRange(unsigned first, unsigned last) {
  const int high = g_high.load(std::memory_order_relaxed);
  if (first >= static_cast<unsigned>(high)) return;
  if (last >= static_cast<unsigned>(high)) last = static_cast<unsigned>(high) - 1;
  for (unsigned fd = first; fd <= last; ++fd) {
    std::atomic<uint64_t>* chunk = ChunkFor(fd, false);
    if (chunk == nullptr) {
      fd |= kChunkSlots - 1;  // skip the whole unmapped chunk
      continue;
    }
    WordAt(chunk, fd & (kChunkSlots - 1)).store(0, std::memory_order_release);
  }
}

uint64_t FdTake(int fd) {
  if (fd < 0 || fd >= g_high.load(std::memory_order_relaxed)) return 0;
  std::atomic<uint64_t>* chunk = ChunkFor(static_cast<uint32_t>(fd), false);
  if (chunk == nullptr) return 0;
  return WordAt(chunk, static_cast<uint32_t>(fd) & (kChunkSlots - 1)).exchange(0, std::memory_order_acq_rel);
}

void FdRestore(int fd, uint64_t word) {
  if (word == 0) return;
  if (std::atomic<uint64_t>* chunk = ChunkFor(static_cast<uint32_t>(fd), false))
    WordAt(chunk, static_cast<uint32_t>(fd) & (kChunkSlots - 1)).store(word, std::memory_order_release);
}

bool FdStillHolds(int fd, uint32_t stack_id, uint32_t label_id, int64_t birth) {
  if (fd < 0) return false;
  std::atomic<uint64_t>* chunk = ChunkFor(static_cast<uint32_t>(fd), false);
  if (chunk == nullptr) return false;
  const uint32_t slot = static_cast<uint32_t>(fd) & (kChunkSlots - 1);
  const uint64_t v = WordAt(chunk, slot).load(std::memory_order_acquire);
  if (v != ((static_cast<uint64_t>(stack_id) << 32) | label_id)) return false;
  return static_cast<int64_t>(BirthAt(chunk, slot).load(std::memory_order_relaxed)) == birth;
}

bool FdRecorded(int fd) {
  if (fd < 0 || fd >= g_high.load(std::memory_order_relaxed)) return false;
  std::atomic<uint64_t>* chunk = ChunkFor(static_cast<uint32_t>(fd), false);
  return chunk != nullptr &&
         WordAt(chunk, static_cast<uint32_t>(fd) & (kChunkSlots - 1)).load(std::memory_order_acquire) != 0;
}

uint32_t FdLabel(int fd) {
  if (fd < 0 || fd >= g_high.load(std::memory_order_relaxed)) return 0;
  std::atomic<uint64_t>* chunk = ChunkFor(static_cast<uint32_t>(fd), false);
  if (chunk == nullptr) return 0;
  const uint64_t v = WordAt(chunk, static_cast<uint32_t>(fd) & (kChunkSlots - 1)).load(std::memory_order_acquire);
  return v == 0 ? 0 : static_cast<uint32_t>(v);
}

uint64_t FdRecordFailures() { return g_failures.load(std::memory_order_relaxed); }

}  // namespace leaktrace::preload
