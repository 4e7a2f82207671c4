#include "preload/snapshot/stack_mappings.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "preload/internal/private_fds.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {
namespace {

// <linux/fs.h> of Linux 6.11; older headers lack it. The kernel checks
// `size`, so this (the first) version of the structure stays valid.
struct ProcmapQuery {
  uint64_t size;
  uint64_t query_flags;
  uint64_t query_addr;
  uint64_t vma_start;
  uint64_t vma_end;
  uint64_t vma_flags;
  uint64_t vma_page_size;
  uint64_t vma_offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t vma_name_size;
  uint32_t build_id_size;
  uint64_t vma_name_addr;
  uint64_t build_id_addr;
};
static_assert(sizeof(ProcmapQuery) == 104, "struct procmap_query, version 1");
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);

// Set once a kernel has refused the ioctl: kAuto then walks straight away.
std::atomic<bool> g_no_query{false};

// The addresses in ascending order: `sorted` with `extra` merged in.
class Addresses {
 public:
  Addresses(const uintptr_t* sorted, size_t count, uintptr_t extra) : sorted_(sorted), count_(count), extra_(extra) {}
  bool Next(uintptr_t* out) {
    const bool have_sorted = i_ < count_;
    if (extra_ != 0 && (!have_sorted || extra_ <= sorted_[i_])) {
      *out = extra_;
      extra_ = 0;
      return true;
    }
    if (!have_sorted) return false;
    *out = sorted_[i_++];
    return true;
  }

 private:
  const uintptr_t* sorted_;
  size_t count_, i_ = 0;
  uintptr_t extra_;
};

// 1: done; 0: the kernel has no PROCMAP_QUERY (nothing visited); -1: failed.
int Query(int fd, const uintptr_t* sorted, size_t count, uintptr_t extra,
          void (*visit)(uintptr_t, uintptr_t, void*), void* ctx) {
  Addresses addresses(sorted, count, extra);
  uintptr_t address = 0, start = 0, end = 0;  // the mapping visited last
  bool answered = false;  // the kernel knows the ioctl
  while (addresses.Next(&address)) {
    if (address >= start && address < end) continue;  // in the mapping just visited
    ProcmapQuery q = {};
    q.size = sizeof q;
    q.query_addr = address;  // flags 0: the mapping that holds it, else ENOENT
    if (RawSyscall(SYS_ioctl, fd, kProcmapQuery, &q) != 0) {
      if (!answered && (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP)) return 0;
      if (errno != ENOENT) return -1;
      answered = true;  // no mapping there: a thread that exited since, say
      continue;
    }
    answered = true;
    start = q.vma_start;
    end = q.vma_end;
    visit(start, end, ctx);
  }
  return 1;
}

uintptr_t HexField(const char* p, const char** after) {
  uintptr_t v = 0;
  for (;; ++p) {
    const char c = *p;
    if (c >= '0' && c <= '9') v = v * 16 + static_cast<uintptr_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + static_cast<uintptr_t>(c - 'a' + 10);
    else break;
  }
  *after = p;
  return v;
}

bool AnyWithin(const uintptr_t* sorted, size_t count, uintptr_t extra, uintptr_t start, uintptr_t end) {
  if (extra >= start && extra < end) return true;
  size_t lo = 0, hi = count;  // first address >= start
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (sorted[mid] < start) lo = mid + 1; else hi = mid;
  }
  return lo < count && sorted[lo] < end;
}

bool Walk(int fd, const uintptr_t* sorted, size_t count, uintptr_t extra,
          void (*visit)(uintptr_t, uintptr_t, void*), void* ctx) {
  char buf[16384];
  size_t have = 0;
  bool ok = true;
  for (;;) {
    const ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n < 0) ok = false;
    if (n <= 0) break;
    have += static_cast<size_t>(n);
    buf[have] = '\0';
    char* line = buf;
    for (char* nl; (nl = strchr(line, '\n')) != nullptr; line = nl + 1) {
      // "start-end perms ...", both in lower-case hex
      const char* dash = nullptr;
      const uintptr_t start = HexField(line, &dash);
      if (dash == line || *dash != '-') continue;
      const char* rest = nullptr;
      const uintptr_t end = HexField(dash + 1, &rest);
      if (AnyWithin(sorted, count, extra, start, end)) visit(start, end, ctx);
    }
    have = static_cast<size_t>(buf + have - line);
    memmove(buf, line, have);
    if (have == sizeof buf - 1) have = 0;  // a line longer than the buffer: a path; skip it
  }
  return ok;
}

}  // namespace

bool ForEachMappingHolding(const uintptr_t* sorted, size_t count, uintptr_t extra, MappingLookup how,
                           void (*visit)(uintptr_t start, uintptr_t end, void* ctx), void* ctx) {
  const int fd = OpenPrivateFd("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0, nullptr);
  if (fd < 0) return false;
  bool ok = false;
  int queried = 0;
  if (how == MappingLookup::kQuery || (how == MappingLookup::kAuto && !g_no_query.load(std::memory_order_relaxed))) {
    queried = Query(fd, sorted, count, extra, visit, ctx);
    if (queried == 0) g_no_query.store(true, std::memory_order_relaxed);
    ok = queried == 1;
  }
  if (queried == 0 && how != MappingLookup::kQuery) ok = Walk(fd, sorted, count, extra, visit, ctx);
  ClosePrivateFd(fd);
  return ok;
}

}  // namespace leaktrace::preload
