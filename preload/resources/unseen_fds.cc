#include "preload/resources/unseen_fds.h"

#include <fcntl.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstdint>

#include "preload/internal/dump_scratch.h"
#include "preload/internal/raw_syscall.h"
#include "preload/record/stack_ids.h"
#include "preload/resources/fd_kind.h"
#include "preload/resources/fd_table.h"
#include "preload/resources/label_table.h"
#include "preload/resources/open_fds.h"

namespace leaktrace::preload {
namespace {

// Whether a first look was made (a fork child inherits its parent's: what
// the parent learnt is the child's too). Dump lock.
LT_FORK_STATE bool g_looked = false;
std::atomic<unsigned long> g_booked{0};

// At most this many numbers are looked at per snapshot (the rest are the
// next snapshot's): 256 KiB of the dump's working memory.
constexpr long kMaxNumbers = 64 * 1024;

uint32_t UnseenLabel(int fd) { return PrefixedLabel("not seen made", ProbeFdLabel(fd)); }

bool Open(int fd) { return RawSyscall(SYS_fcntl, fd, F_GETFD) >= 0; }

}  // namespace

void LookForUnseenFds(bool learn_only) {
  if (learn_only && !g_looked) return;
  const size_t bytes = kMaxNumbers * sizeof(int);
  auto* numbers = static_cast<int*>(DumpScratchAllocate(bytes));
  if (numbers == nullptr) return;
  const long listed = ListProgramFds(numbers, kMaxNumbers, 3);
  const long count = listed < kMaxNumbers ? listed : kMaxNumbers;
  const bool first = !g_looked;
  g_looked = listed >= 0;
  const uint32_t stack = first ? kInheritedFdStack : NoFrameStackId();
  if (stack != 0) {
    // Booked ones that are gone (closed by a raw system call, or while a
    // look ran: a close forgets its slot before the kernel closes it) are
    // forgotten, not left as a leak.
    if (!first)
      ForEachFd([&](int fd, uint32_t stack_id, uint32_t) {
        if (stack_id == stack && !Open(fd)) FdForget(fd);
      });
    for (long i = 0; i < count; ++i) {
      const int fd = numbers[i];
      if (FdRecorded(fd)) continue;
      // A hook that made this one meanwhile records it after us: its record
      // replaces ours (FdRecord).
      FdRecord(fd, stack, first ? 0 : UnseenLabel(fd));
      if (!first) g_booked.fetch_add(1, std::memory_order_relaxed);
    }
  }
  DumpScratchFree(numbers, bytes);
}

unsigned long UnseenFdsBooked() { return g_booked.load(std::memory_order_relaxed); }

}  // namespace leaktrace::preload
