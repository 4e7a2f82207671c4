#include "preload/resources/working_dir.h"

#include <string.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstdint>

#include "preload/internal/raw_syscall.h"
#include "preload/resources/label_table.h"

__attribute__((visibility("hidden"))) unsigned char leaktrace_cwd_unshared = 0;

namespace leaktrace::preload {
namespace {

// High half: the generation, bumped at each change; low half: the label id
// of the path kept in that generation, 0 for none yet.
std::atomic<uint64_t> g_kept{0};
// Changes under way (threads may chdir at once).
std::atomic<int> g_changing{0};

uint32_t KeptId(uint64_t word) { return static_cast<uint32_t>(word); }

}  // namespace

size_t WorkingDirectory(char* buf, size_t size, bool may_call, bool* unsure) {
  *unsure = false;
  if (size == 0) return 0;
  const bool changing =
      g_changing.load(std::memory_order_seq_cst) != 0 || __atomic_load_n(&leaktrace_cwd_unshared, __ATOMIC_RELAXED) != 0;
  const uint64_t kept = g_kept.load(std::memory_order_acquire);
  if (!changing && KeptId(kept) != 0) {
    const char* path = LabelText(KeptId(kept));
    const size_t n = strlen(path);
    if (n < size) {
      memcpy(buf, path, n + 1);
      *unsure = true;
      return n;
    }
    return 0;
  }
  if (!may_call) return 0;
  // The system call, not libc's getcwd, which may allocate. It returns the
  // length with the terminating NUL; a directory outside the root reads
  // "(unreachable)...".
  const long n = RawSyscall(SYS_getcwd, reinterpret_cast<long>(buf), static_cast<long>(size));
  if (n <= 1 || buf[0] != '/') return 0;
  const size_t length = static_cast<size_t>(n - 1);
  if (changing) {
    *unsure = true;
    return length;
  }
  // Kept only if no change began or ended since `kept` was read: a change
  // bumps the generation, so the exchange then fails.
  if (const uint32_t id = InternLabel(buf, length); id != 0) {
    uint64_t expected = kept;
    g_kept.compare_exchange_strong(expected, (kept & ~uint64_t{0xffffffff}) | id, std::memory_order_acq_rel);
  }
  return length;
}

void WorkingDirectoryChanging() {
  g_changing.fetch_add(1, std::memory_order_seq_cst);
  g_kept.fetch_add(uint64_t{1} << 32, std::memory_order_seq_cst);
}

void WorkingDirectoryChanged() {
  // The new generation keeps nothing: whatever a reader kept during the
  // change is dropped with the old one.
  uint64_t word = g_kept.load(std::memory_order_relaxed);
  while (!g_kept.compare_exchange_weak(word, ((word >> 32) + 1) << 32, std::memory_order_seq_cst)) {
  }
  g_changing.fetch_sub(1, std::memory_order_seq_cst);
}

void WorkingDirectoryNeverKept() { __atomic_store_n(&leaktrace_cwd_unshared, 1, __ATOMIC_SEQ_CST); }

}  // namespace leaktrace::preload
