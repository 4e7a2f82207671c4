#include "preload/internal/private_fds.h"

#include "preload/internal/raw_syscall.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "format/control_block.h"

namespace leaktrace::preload {
namespace detail {
std::atomic<int> g_lowest_private_fd{INT_MAX};
}  // namespace detail

namespace {

// Slot i holds a private descriptor in g_fd[i] (-1: free) and, for one whose
// user can follow a move, the cell that user reads it from.
std::atomic<int> g_fd[kMaxPrivateFds] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
std::atomic<std::atomic<int>*> g_home[kMaxPrivateFds];

int RawClose(int fd) { return static_cast<int>(RawSyscall(SYS_close, fd)); }

int SlotOf(int fd) {
  for (int i = 0; i < kMaxPrivateFds; ++i)
    if (g_fd[i].load(std::memory_order_acquire) == fd) return i;
  return -1;
}

void LowerFloor(int fd) {
  int lowest = detail::g_lowest_private_fd.load(std::memory_order_relaxed);
  while (fd < lowest &&
         !detail::g_lowest_private_fd.compare_exchange_weak(lowest, fd, std::memory_order_release,
                                                            std::memory_order_relaxed)) {
  }
}

// PrivateFdBase's answer as last computed (-1: not yet): the soft limit is
// read once, not at every private descriptor made (read again while it was
// too small to park anything).
std::atomic<int> g_base{-1};
// The soft limit ComputeBase read, capped at its ceiling (-1: not yet).
std::atomic<long> g_top{-1};

int ComputeBase() {
  constexpr long kCeiling = 1024;  // a table of 1024 entries is what most processes have anyway
  rlimit limit;
  long top = kCeiling;
  if (RawSyscall(SYS_getrlimit, RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < static_cast<rlim_t>(kCeiling))
    top = static_cast<long>(limit.rlim_cur);
  g_top.store(top, std::memory_order_relaxed);
  // 32 numbers below the top (a quarter of a small table): room for ours
  // (at most kMaxPrivateFds) without reaching down to the program's.
  const long base = top - (top / 4 < 32 ? top / 4 : 32);
  const int result = base >= 8 ? static_cast<int>(base) : 0;
  g_base.store(result, std::memory_order_relaxed);
  return result;
}

// A copy of `fd` at PrivateFdBase() or above, or -1. The base is the one
// cached; when the program has lowered its limit below it since (EINVAL),
// it is computed again and the copy tried once more. A limit raised since
// leaves the base where it was: still 32 below a limit the process had.
int HighCopy(int fd) {
  int base = g_base.load(std::memory_order_relaxed);
  if (base <= 0) base = ComputeBase();  // unknown, or a limit too small then
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (base == 0) return -1;
    const int high = static_cast<int>(RawSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, base));
    if (high >= 0 || errno != EINVAL) return high;
    base = ComputeBase();
  }
  return -1;
}

}  // namespace

bool detail::IsRegisteredPrivateFd(int fd) { return fd >= 0 && SlotOf(fd) >= 0; }

int PrivateFdBase() {
  const int base = g_base.load(std::memory_order_relaxed);
  return base > 0 ? base : ComputeBase();
}

bool DescriptorLimitIsTight() {
  constexpr long kTight = format::control::kTightDescriptorLimit;
  long top = g_top.load(std::memory_order_relaxed);
  if (top < 0) {
    ComputeBase();
    top = g_top.load(std::memory_order_relaxed);
  }
  return top < kTight;
}

namespace {
// PrivateFdMaking: makings begun, and makings in progress.
std::atomic<long> g_makings_begun{0};
std::atomic<int> g_makings_in_progress{0};
}  // namespace

PrivateFdMaking::PrivateFdMaking() {
  g_makings_in_progress.fetch_add(1, std::memory_order_seq_cst);
  g_makings_begun.fetch_add(1, std::memory_order_seq_cst);
}

PrivateFdMaking::~PrivateFdMaking() { g_makings_in_progress.fetch_sub(1, std::memory_order_seq_cst); }

long PrivateFdMakingsSettled() {
  const long begun = g_makings_begun.load(std::memory_order_seq_cst);
  return g_makings_in_progress.load(std::memory_order_seq_cst) == 0 ? begun : -1;
}

int AdoptPrivateFd(int fd, std::atomic<int>* home) {
  if (fd < 0) return fd;
  const int saved_errno = errno;
  int use = fd;
  const int base = PrivateFdBase();
  if (base != 0 && fd < base) {
    const int high = HighCopy(fd);
    if (high >= 0) {
      RawClose(fd);
      use = high;
    }
  }
  for (int i = 0; i < kMaxPrivateFds; ++i) {
    int expected = -1;
    if (g_fd[i].load(std::memory_order_relaxed) != -1) continue;
    g_home[i].store(home, std::memory_order_relaxed);
    if (!g_fd[i].compare_exchange_strong(expected, use, std::memory_order_acq_rel)) continue;
    LowerFloor(use);
    if (home != nullptr) home->store(use, std::memory_order_release);
    errno = saved_errno;
    return use;
  }
  RawClose(use);  // unregistered, it would be exposed to the program
  errno = EMFILE;
  return -1;
}

namespace {
std::atomic<bool (*)()> g_relief{nullptr};  // SetOutOfDescriptorsRelief
// The spare (KeepSpareFd) and the sandbox flag, together: a page written
// already when the spare is made (.data, beside g_fd), where a flag alone
// in .bss cost a process's first capture a page fault to read it.
struct Spare {
  std::atomic<int> fd{-1};             // -1 while there is none; its registration's home cell
  std::atomic<bool> made{false};       // made once: a released spare is not made again
  std::atomic<bool> sandboxed{false};  // NoteSandboxEntered
};
Spare g_spare_state;
std::atomic<int>& g_spare = g_spare_state.fd;

// Closes the spare and asks the relief: true when a descriptor was freed.
bool MakeWay() {
  bool freed = false;
  const int spare = g_spare.exchange(-1, std::memory_order_acq_rel);
  if (spare >= 0 && ClosePrivateFd(spare) == 0) freed = true;
  bool (*relieve)() = g_relief.load(std::memory_order_acquire);
  if (relieve != nullptr && relieve()) freed = true;
  return freed;
}
}  // namespace

void SetOutOfDescriptorsRelief(bool (*relieve)()) { g_relief.store(relieve, std::memory_order_release); }

void NoteSandboxEntered() { g_spare_state.sandboxed.store(true, std::memory_order_release); }

bool SandboxEntered() { return g_spare_state.sandboxed.load(std::memory_order_acquire); }

int KeepPrivateFd(int fd, std::atomic<int>* home) {
  const int kept = AdoptPrivateFd(fd, home);
  if (kept < 0 || !DescriptorLimitIsTight()) return kept;
  if (home != nullptr) home->store(-1, std::memory_order_release);
  ClosePrivateFd(kept);
  errno = EMFILE;
  return -1;
}

bool KeepSpareFd() {
  // Under a tight limit the spare would hold one of the program's numbers.
  if (SandboxEntered() || DescriptorLimitIsTight()) return false;
  if (g_spare_state.made.exchange(true, std::memory_order_acq_rel)) return g_spare.load(std::memory_order_acquire) >= 0;
  const int saved_errno = errno;
  PrivateFdMaking making;
  const int fd = static_cast<int>(RawSyscall(SYS_eventfd2, 0, EFD_CLOEXEC));
  const bool kept = fd >= 0 && KeepPrivateFd(fd, &g_spare) >= 0;
  errno = saved_errno;
  return kept;
}

int OpenPrivateFd(const char* path, int flags, mode_t mode, std::atomic<int>* home) {
  const auto open_once = [&] { return static_cast<int>(RawSyscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode)); };
  PrivateFdMaking making;
  int fd = open_once();
  if (fd < 0 && errno == EMFILE) {
    if (MakeWay()) fd = open_once();
    else errno = EMFILE;
  }
  return fd < 0 ? fd : AdoptPrivateFd(fd, home);
}

int ClosePrivateFd(int fd) {
  const int slot = fd >= 0 ? SlotOf(fd) : -1;
  int expected = fd;
  if (slot < 0 || !g_fd[slot].compare_exchange_strong(expected, -1, std::memory_order_acq_rel)) {
    errno = EBADF;  // not ours (any more): the number may be the program's now
    return -1;
  }
  return RawClose(fd);
}

void YieldPrivateFd(int target) {
  const int slot = target >= 0 ? SlotOf(target) : -1;
  if (slot < 0) return;
  const int saved_errno = errno;
  std::atomic<int>* home = g_home[slot].load(std::memory_order_relaxed);
  const int moved = home != nullptr ? HighCopy(target) : -1;
  int expected = target;
  if (moved >= 0) {
    // The user reads the new number from now on; the program's call then
    // replaces the file at `target`, which drops our old reference.
    home->store(moved, std::memory_order_release);
    if (!g_fd[slot].compare_exchange_strong(expected, moved, std::memory_order_acq_rel)) RawClose(moved);
    LowerFloor(moved);
  } else {
    if (home != nullptr) home->store(-1, std::memory_order_release);
    g_fd[slot].compare_exchange_strong(expected, -1, std::memory_order_acq_rel);
  }
  errno = saved_errno;
}

int ForEachPublicRange(unsigned first, unsigned last, int (*fn)(unsigned, unsigned, void*), void* ctx) {
  unsigned cut[kMaxPrivateFds];
  int n = 0;
  for (int i = 0; i < kMaxPrivateFds; ++i) {
    const int fd = g_fd[i].load(std::memory_order_acquire);
    if (fd < 0 || static_cast<unsigned>(fd) < first || static_cast<unsigned>(fd) > last) continue;
    int j = n++;  // insertion sort: at most kMaxPrivateFds entries
    while (j > 0 && cut[j - 1] > static_cast<unsigned>(fd)) {
      cut[j] = cut[j - 1];
      --j;
    }
    cut[j] = static_cast<unsigned>(fd);
  }
  unsigned from = first;
  for (int i = 0; i < n; ++i) {
    if (cut[i] > from) {
      if (const int rc = fn(from, cut[i] - 1, ctx)) return rc;
    }
    from = cut[i] + 1;  // descriptors are ints: no wrap
  }
  if (n > 0 && from > last) return 0;
  return fn(from, last, ctx);
}

}  // namespace leaktrace::preload
