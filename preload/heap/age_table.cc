#include "preload/heap/age_table.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace leaktrace::preload {

namespace age_table_detail {
std::atomic<Slot*> g_slots{nullptr};
std::atomic<uint32_t> g_limit{1024};
}  // namespace age_table_detail

namespace {

using namespace age_table_detail;

constexpr uint32_t kProbe = 16;  // slots tried before the limit grows
constexpr size_t kTableBytes = sizeof(Slot) * kCapacity;
std::atomic<uint64_t> g_full{0};

// Like format::RawMapAnonymous (raw syscall: mmap is hooked), but reserving
// no swap: most of the table is never touched. And never locked: under the
// program's mlockall(MCL_FUTURE) a new mapping is locked, so made resident,
// as it is created: all 32 MiB of it. So the table is mapped PROT_NONE
// (never populated), unlocked, and only then opened (mprotect of a locked
// mapping to writable would populate it).
void* MapTable() {
#if defined(__SANITIZE_THREAD__)
  void* p = mmap(nullptr, kTableBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
#else
  void* p = reinterpret_cast<void*>(
      syscall(SYS_mmap, nullptr, kTableBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (p != MAP_FAILED) {
    syscall(SYS_munlock, p, kTableBytes);
    if (syscall(SYS_mprotect, p, kTableBytes, PROT_READ | PROT_WRITE) != 0) {
      syscall(SYS_munmap, p, kTableBytes);
      p = MAP_FAILED;
    }
  }
#endif
  return p == MAP_FAILED ? nullptr : p;
}

void UnmapTable(void* p) {
#if defined(__SANITIZE_THREAD__)
  munmap(p, kTableBytes);
#else
  syscall(SYS_munmap, p, kTableBytes);
#endif
}

Slot* Slots() {
  Slot* slots = g_slots.load(std::memory_order_acquire);
  if (slots != nullptr) return slots;
  auto* fresh = static_cast<Slot*>(MapTable());  // zeroed: every slot empty
  if (fresh == nullptr) return nullptr;
  if (g_slots.compare_exchange_strong(slots, fresh, std::memory_order_acq_rel)) return fresh;
  UnmapTable(fresh);  // another thread published one first
  return slots;
}

uint32_t Hash(const void* p) {
  uint64_t x = reinterpret_cast<uintptr_t>(p) >> 6;
  x *= 0x9E3779B97F4A7C15ULL;
  return static_cast<uint32_t>(x >> 40);
}

}  // namespace

uint32_t AgeTableInsert(const void* block, uint32_t stack_id, uint64_t size, double weight, uint64_t birth_ns) {
  Slot* slots = Slots();
  if (slots == nullptr) {
    g_full.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  if (birth_ns <= 1) birth_ns = 2;  // 0 and 1 are states, not times
  const uint32_t start = Hash(block);
  uint32_t limit = g_limit.load(std::memory_order_acquire);
  for (;;) {
    for (uint32_t i = 0; i < kProbe; ++i) {
      const uint32_t index = (start + i) & (limit - 1);
      Slot& s = slots[index];
      // The compare-and-swap alone, no load before it: a load of a slot in
      // a page never touched maps the zero page, and the swap then faults
      // again to write (two faults for each page the table reaches, where
      // most slots probed are empty).
      uint64_t empty = 0;
      if (!s.state.compare_exchange_strong(empty, 1, std::memory_order_acquire, std::memory_order_relaxed)) continue;
      s.stack_id.store(stack_id, std::memory_order_relaxed);
      s.size.store(size, std::memory_order_relaxed);
      s.weight.store(weight, std::memory_order_relaxed);
      s.state.store(birth_ns, std::memory_order_release);
      return index + 1;
    }
    if (limit >= kCapacity) {
      g_full.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    // Crowded: double the part in use (another thread may have already).
    g_limit.compare_exchange_strong(limit, limit * 2, std::memory_order_acq_rel);
    limit = g_limit.load(std::memory_order_acquire);
  }
}

void AgeTableUpdate(uint32_t slot_plus_one, uint32_t stack_id, uint64_t size, double weight, uint64_t birth_ns) {
  if (Slot* s = SlotOf(slot_plus_one)) RewriteSlot(*s, stack_id, size, weight, birth_ns);
}

void AgeTableRemove(uint32_t slot_plus_one) {
  if (slot_plus_one == 0 || slot_plus_one > kCapacity) return;
  Slot* slots = g_slots.load(std::memory_order_acquire);
  if (slots != nullptr) slots[slot_plus_one - 1].state.store(0, std::memory_order_release);
}

uint64_t AgeTableFull() { return g_full.load(std::memory_order_relaxed); }

bool AgeTableRange(uintptr_t* start) {
  Slot* slots = g_slots.load(std::memory_order_acquire);
  *start = reinterpret_cast<uintptr_t>(slots);
  return slots != nullptr;
}

uint64_t AgeTableBytes() {
  if (g_slots.load(std::memory_order_relaxed) == nullptr) return 0;
  return static_cast<uint64_t>(g_limit.load(std::memory_order_relaxed)) * sizeof(Slot);
}

}  // namespace leaktrace::preload
