#include "preload/heap/age_table.h"
#include "preload/internal/raw_syscall.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "format/raw_mmap.h"
#include "preload/internal/one_thread.h"

namespace leaktrace::preload {

namespace age_table_detail {
// constinit: zero in .lbss, no constructor at start-up (one that cleared the
// slots faulted in all eight pages of every process).
alignas(4096) LT_LARGE_STATIC constinit Slot g_static_slots[kStaticSlots];
std::atomic<Slot*> g_slots{nullptr};
std::atomic<uint32_t> g_limit{kFirstLimit | kLimitUnused};
}  // namespace age_table_detail

namespace {

using namespace age_table_detail;

constexpr uint32_t kProbe = 16;  // slots tried before the limit grows
constexpr size_t kTableBytes = sizeof(Slot) * kCapacity;
std::atomic<uint64_t> g_full{0};

// Like format::RawMapAnonymous (raw syscall: mmap is hooked; placed out of
// the program's way), but reserving
// no swap: most of the table is never touched. And never locked: under the
// program's mlockall(MCL_FUTURE) a new mapping is locked, so made resident,
// as it is created: all 32 MiB of it. So the table is mapped PROT_NONE
// (never populated), unlocked, and only then opened (mprotect of a locked
// mapping to writable would populate it).
void* MapTable() {
#if defined(__SANITIZE_THREAD__)
  void* p = mmap(nullptr, kTableBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
#else
  void* p = format::RawMapOwn(kTableBytes, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
  if (p != MAP_FAILED) {
    RawSyscall(SYS_munlock, p, kTableBytes);
    if (RawSyscall(SYS_mprotect, p, kTableBytes, PROT_READ | PROT_WRITE) != 0) {
      RawSyscall(SYS_munmap, p, kTableBytes);
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
  RawSyscall(SYS_munmap, p, kTableBytes);
#endif
}

// The mapping for the slots past the static ones, made if not yet.
Slot* MappedSlots() {
  Slot* slots = g_slots.load(std::memory_order_acquire);
  if (slots != nullptr) return slots;
  auto* fresh = static_cast<Slot*>(MapTable());  // zeroed: every slot empty
  if (fresh == nullptr) return nullptr;
  if (g_slots.compare_exchange_strong(slots, fresh, std::memory_order_acq_rel)) return fresh;
  UnmapTable(fresh);  // another thread published one first
  return slots;
}

// Takes the empty slot `s` for an insert ("being written"), or returns
// false when it is in use. The compare-and-swap alone, no load before it:
// a load of a slot in a page never touched maps the zero page, and the
// swap then faults again to write (two faults for each page the table
// reaches, where most slots probed are empty). But in a process of one
// thread (one_thread.h) no other insert can race this one, and the lock
// prefix was two thirds of an insert's cost: a load, and the slot left
// empty while its fields are written (a reader skips it, as it would skip
// one "being written"). Only a handler that allocates (which the allocator
// does not allow either) could take the same slot in between: one of the
// two entries then lost, nothing worse.
LT_ALWAYS_INLINE bool ClaimSlot(Slot& s) {
  if (ProcessRunsOneThread()) return s.state.load(std::memory_order_relaxed) == 0;
  uint64_t empty = 0;
  return s.state.compare_exchange_strong(empty, 1, std::memory_order_acquire, std::memory_order_relaxed);
}

uint32_t Hash(const void* p) {
  uint64_t x = reinterpret_cast<uintptr_t>(p) >> 6;
  x *= 0x9E3779B97F4A7C15ULL;
  return static_cast<uint32_t>(x >> 40);
}

}  // namespace

uint32_t AgeTableInsert(const void* block, uint32_t stack_id, uint64_t size, double weight, uint64_t birth_ns) {
  if (birth_ns <= 1) birth_ns = 2;  // 0 and 1 are states, not times
  const uint32_t start = Hash(block);
  uint32_t limit = g_limit.load(std::memory_order_acquire);
  if (LT_UNLIKELY(limit & kLimitUnused)) {
    // The first insert: the static slots are in use from now on.
    g_limit.compare_exchange_strong(limit, limit & ~kLimitUnused, std::memory_order_acq_rel);
    limit = g_limit.load(std::memory_order_acquire);
  }
  for (;;) {
    // The window from the block's hash, then the same window in the newest
    // half of the part in use: slots are never moved, so after the limit
    // doubles the older half stays as crowded as it was, and a block whose
    // window falls there would double the limit again at once (1,200 aged
    // blocks drove it to the whole table, a page touched for each block
    // from then on). The newest half fills before the limit grows again.
    const uint32_t windows[2] = {start & (limit - 1), (start | (limit >> 1)) & (limit - 1)};
    for (int w = 0; w < 2; ++w) {
      if (w == 1 && windows[1] == windows[0]) break;
      for (uint32_t i = 0; i < kProbe; ++i) {
        const uint32_t index = (windows[w] + i) & (limit - 1);
        Slot* slot = SlotAt(index);  // the limit passed kStaticSlots only once the mapping was there
        if (slot == nullptr) break;
        Slot& s = *slot;
        if (!ClaimSlot(s)) continue;
        s.stack_id.store(stack_id, std::memory_order_relaxed);
        s.size.store(size, std::memory_order_relaxed);
        s.weight.store(weight, std::memory_order_relaxed);
        s.state.store(birth_ns, std::memory_order_release);
        return index + 1;
      }
    }
    // Past the static slots, the mapping first (published before the limit
    // that reaches into it).
    if (limit >= kCapacity || (limit >= kStaticSlots && MappedSlots() == nullptr)) {
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
  if (Slot* s = SlotOf(slot_plus_one)) s->state.store(0, std::memory_order_release);
}

uint64_t AgeTableFull() { return g_full.load(std::memory_order_relaxed); }

int AgeTableRanges(uintptr_t start[2], uint64_t bytes[2]) {
  const uint32_t limit = g_limit.load(std::memory_order_acquire);
  if (limit & kLimitUnused) return 0;
  start[0] = reinterpret_cast<uintptr_t>(g_static_slots);
  bytes[0] = static_cast<uint64_t>(limit < kStaticSlots ? limit : kStaticSlots) * sizeof(Slot);
  Slot* mapped = g_slots.load(std::memory_order_acquire);
  if (limit <= kStaticSlots || mapped == nullptr) return 1;
  start[1] = reinterpret_cast<uintptr_t>(mapped + kStaticSlots);
  bytes[1] = static_cast<uint64_t>(limit - kStaticSlots) * sizeof(Slot);
  return 2;
}

uint64_t AgeTableBytes() {
  const uint32_t limit = g_limit.load(std::memory_order_relaxed);
  return (limit & kLimitUnused) ? 0 : static_cast<uint64_t>(limit) * sizeof(Slot);
}

}  // namespace leaktrace::preload
