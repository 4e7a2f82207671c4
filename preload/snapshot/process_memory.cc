#include "preload/snapshot/process_memory.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "format/raw_mmap.h"
#include "preload/heap/age_table.h"
#include "preload/internal/arena.h"
#include "preload/snapshot/dumper.h"
#include "preload/resources/mapping_table.h"
#include "preload/internal/private_fds.h"

namespace leaktrace::preload {
namespace {

constexpr uint64_t kPage = 4096;

// Reads a small /proc file whole into buf (NUL-terminated); its length, or -1.
ssize_t ReadSmallFile(const char* path, char* buf, size_t size) {
  const int fd = OpenPrivateFd(path, O_RDONLY | O_CLOEXEC, 0, nullptr);
  if (fd < 0) return -1;
  size_t used = 0;
  while (used + 1 < size) {
    const ssize_t n = read(fd, buf + used, size - 1 - used);
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ClosePrivateFd(fd);
  buf[used] = '\0';
  return static_cast<ssize_t>(used);
}

// "Key:   1234 kB" in /proc/self/status, in bytes; 0 when absent.
uint64_t StatusField(const char* status, const char* key) {
  const size_t len = strlen(key);
  for (const char* p = status; p != nullptr && *p != '\0';) {
    if (strncmp(p, key, len) == 0 && p[len] == ':') return strtoull(p + len + 1, nullptr, 10) * 1024;
    p = strchr(p, '\n');
    if (p != nullptr) ++p;
  }
  return 0;
}

// /proc/self/pagemap, and the page frame of the shared zero page (0 when
// the kernel hides frame numbers: no CAP_SYS_ADMIN).
struct Pagemap {
  int fd = -1;
  uint64_t zero_pfn = 0;
};

constexpr uint64_t kPresent = 1ull << 63, kFileOrShared = 1ull << 61, kExclusive = 1ull << 56;
constexpr uint64_t kPfnMask = (1ull << 55) - 1;

// Whether a page table entry adds to RSS. Present pages do, but for one: the
// shared zero page, which a read of never-written anonymous memory maps
// (leaktrace's own sparse tables when the dumper reads them, say) and RSS
// does not count. A page mapped by this process alone (exclusive) or a file
// or shared page counts; any other (anonymous, shared with a fork parent or
// child, or the zero page) counts when its frame is known and is not the
// zero page's.
bool Counts(uint64_t entry, uint64_t zero_pfn) {
  if ((entry & kPresent) == 0) return false;
  if ((entry & (kExclusive | kFileOrShared)) != 0) return true;
  const uint64_t pfn = entry & kPfnMask;
  return zero_pfn != 0 && pfn != 0 && pfn != zero_pfn;
}

// Reads one never-written anonymous page to learn the zero page's frame.
uint64_t ZeroPageFrame(int fd) {
  void* page = format::RawMapAnonymous(kPage);
  if (page == MAP_FAILED) return 0;
  (void)*static_cast<volatile const char*>(page);
  uint64_t entry = 0;
  const off_t offset = static_cast<off_t>(reinterpret_cast<uintptr_t>(page) / kPage * 8);
  const bool ok = pread(fd, &entry, sizeof entry, offset) == sizeof entry;
  format::RawUnmap(page, kPage);
  return ok && (entry & kPresent) != 0 ? entry & kPfnMask : 0;
}

// The bytes of [start, end) that add to RSS, page by page.
uint64_t ResidentBytes(const Pagemap& pagemap, uintptr_t start, uintptr_t end) {
  uint64_t entries[512];
  uint64_t resident = 0;
  for (uintptr_t page = start / kPage; page < (end + kPage - 1) / kPage;) {
    const uintptr_t want = (end + kPage - 1) / kPage - page;
    const size_t n = want < 512 ? want : 512;
    const ssize_t got = pread(pagemap.fd, entries, n * 8, static_cast<off_t>(page * 8));
    if (got <= 0) break;
    const size_t read_entries = static_cast<size_t>(got) / 8;
    for (size_t i = 0; i < read_entries; ++i) resident += Counts(entries[i], pagemap.zero_pfn);
    page += read_entries;
  }
  return resident * kPage;
}

void SortAddresses(uintptr_t* a, size_t n) {  // insertion sort: a few hundred threads at most, usually
  for (size_t i = 1; i < n; ++i) {
    const uintptr_t v = a[i];
    size_t j = i;
    for (; j > 0 && a[j - 1] > v; --j) a[j] = a[j - 1];
    a[j] = v;
  }
}

// The stack pointer of thread `tid` from /proc/self/task/TID/syscall, or 0
// when it is running (no stack pointer to read).
uintptr_t StackPointerOf(const char* tid) {
  char path[sizeof "/proc/self/task//syscall" + NAME_MAX];  // tid: a directory entry's name
  snprintf(path, sizeof path, "/proc/self/task/%s/syscall", tid);
  char buf[256];
  if (ReadSmallFile(path, buf, sizeof buf) <= 0 || strncmp(buf, "running", 7) == 0) return 0;
  // "NR arg1 .. arg6 SP PC" or "-1 SP PC": the stack pointer is the
  // next-to-last field.
  const char* fields[10];
  int count = 0;
  for (char* p = buf; *p != '\0' && count < 10;) {
    while (*p == ' ' || *p == '\n') ++p;
    if (*p == '\0') break;
    fields[count++] = p;
    while (*p != '\0' && *p != ' ' && *p != '\n') ++p;
  }
  return count >= 3 ? static_cast<uintptr_t>(strtoull(fields[count - 2], nullptr, 16)) : 0;
}

struct StackPointers {
  uintptr_t* sp = nullptr;  // sorted
  size_t count = 0;
  uintptr_t own_sp = 0;     // of leaktrace's dumper thread, when it is the caller
};

constexpr size_t kMaxThreads = 16384;

// Every thread's stack pointer that can be read. The caller reads its own.
void CollectStackPointers(StackPointers& out, ProcessMemory& m) {
  out.sp = static_cast<uintptr_t*>(MapMemory(kMaxThreads * sizeof(uintptr_t)));
  if (out.sp == nullptr) return;
  const int self = static_cast<int>(syscall(SYS_gettid));
  const uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const bool caller_is_ours = self == DumperThreadId();
  const int dir = OpenPrivateFd("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, nullptr);
  if (dir < 0) return;
  char buf[4096];
  for (;;) {
    const long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
      ++m.threads;
      const int tid = atoi(d->d_name);
      uintptr_t sp = 0;
      if (tid == self) {
        if (caller_is_ours) {
          out.own_sp = here;
          --m.threads;  // leaktrace's, not the program's
          continue;
        }
        sp = here;
      } else {
        sp = StackPointerOf(d->d_name);
      }
      if (sp == 0) {
        ++m.threads_unlocated;
      } else if (out.count < kMaxThreads) {
        out.sp[out.count++] = sp;
      }
    }
  }
  ClosePrivateFd(dir);
  SortAddresses(out.sp, out.count);
}

bool AnyWithin(const StackPointers& s, uintptr_t start, uintptr_t end) {
  size_t lo = 0, hi = s.count;  // first sp >= start
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (s.sp[mid] < start) lo = mid + 1; else hi = mid;
  }
  return lo < s.count && s.sp[lo] < end;
}

// Walks /proc/self/maps: every mapping holding a thread's stack pointer
// counts once, its resident pages from pagemap.
void MeasureStacks(const StackPointers& s, const Pagemap& pagemap, ProcessMemory& m) {
  const int fd = OpenPrivateFd("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0, nullptr);
  if (fd < 0) return;
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
      *nl = '\0';
      char* dash = nullptr;
      const uintptr_t start = strtoull(line, &dash, 16);
      if (dash == nullptr || *dash != '-') continue;
      const uintptr_t end = strtoull(dash + 1, nullptr, 16);
      const bool program = AnyWithin(s, start, end);
      const bool ours = s.own_sp >= start && s.own_sp < end;
      if (!program && !ours) continue;
      const uint64_t resident = ResidentBytes(pagemap, start, end);
      if (program) m.thread_stacks += resident; else m.leaktrace_stack += resident;
    }
    have = static_cast<size_t>(buf + have - line);
    memmove(buf, line, have);
    if (have == sizeof buf - 1) have = 0;  // a line longer than the buffer: a path; skip it
  }
  ClosePrivateFd(fd);
  m.stacks_measured = ok;
}

struct MappingSum {
  const Pagemap* pagemap;
  uint64_t resident;
};

}  // namespace

ProcessMemory ReadProcessMemory() {
  ProcessMemory m;
  char status[8192];
  if (ReadSmallFile("/proc/self/status", status, sizeof status) > 0) {
    m.rss = StatusField(status, "VmRSS");
    m.rss_anon = StatusField(status, "RssAnon");
    m.rss_file = StatusField(status, "RssFile");
    m.rss_shmem = StatusField(status, "RssShmem");
    m.rss_peak = StatusField(status, "VmHWM");
    m.swap = StatusField(status, "VmSwap");
  }
  Pagemap pagemap;
  pagemap.fd = OpenPrivateFd("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0, nullptr);
  if (pagemap.fd < 0) return m;
  pagemap.zero_pfn = ZeroPageFrame(pagemap.fd);
  {
    MappingTableLock lock;
    MappingSum sum{&pagemap, 0};
    ForEachMapping(
        [](const MappingView& v, void* ctx) {
          auto* s = static_cast<MappingSum*>(ctx);
          s->resident += ResidentBytes(*s->pagemap, v.start, v.end);
        },
        &sum);
    m.mmap_resident = sum.resident;
    m.mmap_measured = true;
  }
  m.leaktrace_resident = TrackerResidentBytes(
      [](uintptr_t start, size_t bytes, void* ctx) {
        return ResidentBytes(*static_cast<const Pagemap*>(ctx), start, start + bytes);
      },
      &pagemap);
  // The age table: its part in use, page by page (it is probed by hash, so
  // touched sparsely at first).
  if (uintptr_t start = 0; AgeTableRange(&start))
    m.leaktrace_resident += ResidentBytes(pagemap, start, start + AgeTableBytes());
  StackPointers pointers;
  CollectStackPointers(pointers, m);
  if (pointers.sp != nullptr) {
    MeasureStacks(pointers, pagemap, m);
    UnmapMemory(pointers.sp, kMaxThreads * sizeof(uintptr_t));
  }
  ClosePrivateFd(pagemap.fd);
  return m;
}

}  // namespace leaktrace::preload
