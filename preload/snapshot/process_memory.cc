#include "preload/snapshot/process_memory.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "preload/heap/age_table.h"
#include "preload/internal/arena.h"
#include "preload/internal/dump_scratch.h"
#include "preload/snapshot/dumper.h"
#include "preload/snapshot/snapshot.h"
#include "preload/resources/mapping_table.h"
#include "preload/resources/thread_table.h"
#include "preload/internal/private_fds.h"
#include "preload/snapshot/stack_mappings.h"
#include "preload/snapshot/writer_stack.h"
#include "preload/internal/raw_syscall.h"

extern "C" void* __libc_stack_end;  // glibc: the top of the main thread's stack

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

// The figures of /proc/self/status ("Key:   1234 kB") in bytes, in one
// pass over its lines; a figure absent stays 0. `threads`: its "Threads:"
// count (0 when absent).
void ReadStatusFields(const char* status, ProcessMemory& m, uint64_t* threads) {
  struct Field {
    const char* key;
    uint64_t ProcessMemory::*figure;  // null: the thread count
  };
  static constexpr Field kFields[] = {
      {"VmRSS", &ProcessMemory::rss},          {"RssAnon", &ProcessMemory::rss_anon},
      {"RssFile", &ProcessMemory::rss_file},   {"RssShmem", &ProcessMemory::rss_shmem},
      {"VmHWM", &ProcessMemory::rss_peak},     {"VmSwap", &ProcessMemory::swap},
      {"Threads", nullptr},
  };
  *threads = 0;
  bool found[sizeof kFields / sizeof kFields[0]] = {};
  for (const char* line = status; *line != '\0';) {
    const char* colon = line;
    while (*colon != ':' && *colon != '\n' && *colon != '\0') ++colon;
    if (*colon == ':') {
      const size_t len = static_cast<size_t>(colon - line);
      for (size_t i = 0; i < sizeof kFields / sizeof kFields[0]; ++i) {
        if (found[i] || strncmp(line, kFields[i].key, len) != 0 || kFields[i].key[len] != '\0') continue;
        const char* p = colon + 1;
        while (*p == ' ' || *p == '\t') ++p;
        uint64_t value = 0;
        for (; *p >= '0' && *p <= '9'; ++p) value = value * 10 + static_cast<uint64_t>(*p - '0');
        if (kFields[i].figure != nullptr) m.*kFields[i].figure = value * 1024;  // kB
        else *threads = value;
        found[i] = true;  // the first line of a key counts
        break;
      }
    }
    const char* next = strchr(colon, '\n');
    if (next == nullptr) break;
    line = next + 1;
  }
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

// The pagemap descriptor kept across a privilege drop (KeepPagemap...), the
// process that opened it (it reads the memory of that process, so a fork
// child must not use its parent's; 0: none kept), and whether the dumps read
// through it (the process came out of the drop non-dumpable).
std::atomic<int> g_kept_pagemap{-1};
std::atomic<pid_t> g_kept_pagemap_pid{0};
std::atomic<bool> g_kept_pagemap_used{false};

pid_t CurrentPid() { return static_cast<pid_t>(RawSyscall(SYS_getpid)); }

void ForgetKeptPagemap() {
  g_kept_pagemap_used.store(false, std::memory_order_release);
  g_kept_pagemap_pid.store(0, std::memory_order_release);
  const int fd = g_kept_pagemap.exchange(-1, std::memory_order_acq_rel);
  if (fd >= 0) ClosePrivateFd(fd);
}

// Drops a kept descriptor inherited from a fork parent.
void ForgetInheritedPagemap(pid_t pid) {
  const pid_t owner = g_kept_pagemap_pid.load(std::memory_order_acquire);
  if (owner != 0 && owner != pid) ForgetKeptPagemap();
}

// This process's kept pagemap descriptor, or -1.
int KeptPagemap() {
  const pid_t pid = CurrentPid();
  ForgetInheritedPagemap(pid);
  if (!g_kept_pagemap_used.load(std::memory_order_acquire) ||
      g_kept_pagemap_pid.load(std::memory_order_acquire) != pid)
    return -1;
  return g_kept_pagemap.load(std::memory_order_acquire);
}

// The zero page's frame, learnt once per process (it never changes) from a
// never-written page of the dump's working memory, read: no mapping of its
// own. 0 while unknown (frames hidden: asked again at the next dump).
uint64_t g_zero_pfn = 0;  // dump lock

uint64_t ZeroPageFrame(int fd) {
  if (g_zero_pfn != 0) return g_zero_pfn;
  const void* page = DumpScratchNeverWrittenPage();
  if (page == nullptr) return 0;
  (void)*static_cast<volatile const char*>(page);
  uint64_t entry = 0;
  const off_t offset = static_cast<off_t>(reinterpret_cast<uintptr_t>(page) / kPage * 8);
  const bool ok = pread(fd, &entry, sizeof entry, offset) == sizeof entry;
  if (ok && (entry & kPresent) != 0) g_zero_pfn = entry & kPfnMask;
  return g_zero_pfn;
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
// when it is running (no stack pointer to read). `*denied`: the file could
// not be read at all (a non-dumpable process: the kernel gives it to root).
uintptr_t StackPointerOf(const char* tid, bool* denied) {
  char path[sizeof "/proc/self/task//syscall" + NAME_MAX];  // tid: a directory entry's name
  snprintf(path, sizeof path, "/proc/self/task/%s/syscall", tid);
  char buf[256];
  const ssize_t n = ReadSmallFile(path, buf, sizeof buf);
  *denied = n < 0;
  if (n <= 0 || strncmp(buf, "running", 7) == 0) return 0;
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

constexpr size_t kMaxThreads = 16384;
constexpr size_t kFewThreads = 128;

struct StackPointers {
  uintptr_t few[kFewThreads];  // most processes: no mapping of its own
  uintptr_t* sp = few;         // sorted; `few`, or a mapping for kMaxThreads
  size_t count = 0;
  uintptr_t own_sp = 0;     // in the stack of leaktrace's dumper thread (0: none)
  bool Add(uintptr_t p) {
    if (count == kFewThreads && sp == few) {
      auto* many = static_cast<uintptr_t*>(MapMemory(kMaxThreads * sizeof(uintptr_t)));
      if (many == nullptr) return false;
      memcpy(many, few, sizeof few);
      sp = many;
    }
    if (count == kMaxThreads) return false;
    sp[count++] = p;
    return true;
  }
  ~StackPointers() {
    if (sp != few) UnmapMemory(sp, kMaxThreads * sizeof(uintptr_t));
  }
};

// Every thread's stack pointer that can be read. The caller reads its own.
// leaktrace's dumper thread is not the program's: its stack goes to
// own_sp, from the address it noted (or the caller's own frame, when it is
// the caller), whichever thread writes the dump (the exit dump is written on
// the program's thread): no /proc read for it. `status_threads`: the thread
// count /proc/self/status gave (0: unknown).
void CollectStackPointers(StackPointers& out, ProcessMemory& m, uint64_t status_threads) {
  const int self = static_cast<int>(RawSyscall(SYS_gettid));
  // The writing thread's own stack, not the writer stack it may be on
  // (writer_stack.h: a handler's write, the exit dump).
  const uintptr_t caller_frame = WriterCallerFrame();
  const uintptr_t here =
      caller_frame != 0 ? caller_frame : reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const int dumper = DumperThreadId();
  // A program thread alone, or with the dumper thread (a short process at
  // its exit dump): nothing to list (/proc/self/task and a read of each
  // other thread's stack pointer: seven system calls).
  // The dumper thread may be so young that it has not published its id (a
  // program that exits at once): alive then, but its stack is unknown.
  const bool alone = status_threads == 1;
  const bool with_dumper =
      status_threads == 2 && dumper != self && DumperThreadCreated() &&
      (dumper == 0 || RawSyscall(SYS_tgkill, static_cast<int>(RawSyscall(SYS_getpid)), dumper, 0) == 0);
  if (alone || with_dumper) {
    if (self == dumper) {
      out.own_sp = here;  // a dumper thread outliving the program's threads
      return;
    }
    ++m.threads;
    out.Add(here);
    if (with_dumper && dumper != 0) out.own_sp = DumperStackAddress();
    return;
  }
  const int dir = OpenPrivateFd("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, nullptr);
  if (dir < 0) return;
  const int pid = static_cast<int>(RawSyscall(SYS_getpid));
  uint64_t unreadable = 0;  // threads whose stack pointer the kernel would not show
  char buf[4096];
  for (;;) {
    const long n = RawSyscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
      int tid = 0;  // not atoi: strtol's code and tables would be two more page faults
      for (const char* c = d->d_name; *c >= '0' && *c <= '9'; ++c) tid = tid * 10 + (*c - '0');
      if (tid == dumper && dumper != 0) {
        out.own_sp = tid == self ? here : DumperStackAddress();
        continue;
      }
      ++m.threads;
      bool denied = false;
      uintptr_t sp = tid == self ? here : StackPointerOf(d->d_name, &denied);
      if (denied && tid == pid) sp = reinterpret_cast<uintptr_t>(__libc_stack_end);  // the main thread's stack
      if (sp != 0) {
        out.Add(sp);
      } else if (denied) {
        ++unreadable;
      } else {
        ++m.threads_unlocated;
      }
    }
  }
  ClosePrivateFd(dir);
  if (unreadable > 0) {
    // A process that dropped privileges may not read its threads' stack
    // pointers: the threads it started through pthread_create noted an
    // address in their stacks (thread_table.h). Each stack counts once
    // however many addresses it holds, so noting the caller's or a read
    // thread's again costs nothing; the threads not accounted for (not
    // started by a tracked pthread_create) stay unlocated.
    const size_t noted = ForEachRunningThreadStack(
        [](uintptr_t address, void* ctx) { static_cast<StackPointers*>(ctx)->Add(address); }, &out);
    if (noted < unreadable) m.threads_unlocated += unreadable - noted;
  }
  SortAddresses(out.sp, out.count);
}

struct StackSum {
  const Pagemap* pagemap;
  ProcessMemory* m;
};

// Every mapping holding a thread's stack pointer counts once, its resident
// pages from pagemap: the program's threads' in thread_stacks. The dumper
// thread's stack is part of the library's .bss (dumper.h): its own range
// goes to leaktrace_stack, not the mapping around it, and it is measured
// apart from the program's (a program thread's stack pointer is never in
// it, and the mapping holding it holds no program stack).
void MeasureStacks(const StackPointers& s, const Pagemap& pagemap, ProcessMemory& m) {
  StackSum sum{&pagemap, &m};
  m.stacks_measured = ForEachMappingHolding(
      s.sp, s.count, 0, MappingLookup::kAuto,
      [](uintptr_t start, uintptr_t end, void* ctx) {
        auto* sum = static_cast<StackSum*>(ctx);
        sum->m->thread_stacks += ResidentBytes(*sum->pagemap, start, end);
      },
      &sum);
  if (s.own_sp != 0) {
    uintptr_t begin = 0, end = 0;
    DumperStackRange(&begin, &end);
    if (s.own_sp >= begin && s.own_sp < end) m.leaktrace_stack += ResidentBytes(pagemap, begin, end);
  }
}

struct MappingSum {
  const Pagemap* pagemap;
  uint64_t resident;
};

}  // namespace

ProcessMemory ReadProcessMemory() {
  ProcessMemory m;
  char status[8192];
  uint64_t status_threads = 0;
  if (ReadSmallFile("/proc/self/status", status, sizeof status) > 0) ReadStatusFields(status, m, &status_threads);
  Pagemap pagemap;
  const int kept = KeptPagemap();
  pagemap.fd = kept >= 0 ? kept : OpenPrivateFd("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0, nullptr);
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
  uintptr_t age_start[2];
  uint64_t age_bytes[2];
  for (int i = 0, n = AgeTableRanges(age_start, age_bytes); i < n; ++i)
    m.leaktrace_resident += ResidentBytes(pagemap, age_start[i], age_start[i] + age_bytes[i]);
  StackPointers pointers;
  CollectStackPointers(pointers, m, status_threads);
  MeasureStacks(pointers, pagemap, m);
  if (pagemap.fd != kept) ClosePrivateFd(pagemap.fd);
  return m;
}

void KeepPagemapBeforeIdChange() {
  const pid_t pid = CurrentPid();
  ForgetInheritedPagemap(pid);
  if (g_kept_pagemap_pid.load(std::memory_order_acquire) == pid) return;  // kept at an earlier call
  // In a seccomp sandbox no dump is written, and the filter may punish the open.
  if (SnapshotsRefused()) return;
  // Already non-dumpable: nothing left to keep.
  if (RawSyscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0) != 1) return;
  // The number lives in g_kept_pagemap (AdoptPrivateFd sets it, and moves
  // it should the program dup2 onto it).
  if (OpenPrivateFd("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0, &g_kept_pagemap) >= 0)
    g_kept_pagemap_pid.store(pid, std::memory_order_release);
}

void SettlePagemapAfterIdChange() {
  if (g_kept_pagemap_pid.load(std::memory_order_acquire) != CurrentPid() ||
      g_kept_pagemap_used.load(std::memory_order_acquire))
    return;
  if (RawSyscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0) == 0) {
    g_kept_pagemap_used.store(true, std::memory_order_release);  // from now on the dumps read through it
    return;
  }
  // Still dumpable (a change that kept the process's access): the dumps
  // open the file as before; no descriptor of ours stays.
  ForgetKeptPagemap();
}

}  // namespace leaktrace::preload
