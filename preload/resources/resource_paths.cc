#include "preload/resources/resource_paths.h"

#include <link.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "preload/resources/fd_kind.h"
#include "preload/resources/fd_table.h"
#include "preload/resources/label_table.h"
#include "preload/resources/mapping_table.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/tracker.h"
#include "preload/record/unwinder.h"
#include "preload/internal/raw_syscall.h"
#include "preload/internal/libc_functions.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

LT_HIDDEN_SYMBOL __thread unsigned char leaktrace_vfork_pending LT_INITIAL_EXEC = 0;
LT_HIDDEN_SYMBOL unsigned char leaktrace_shared_vm_child = 0;
LT_HIDDEN_SYMBOL unsigned char leaktrace_shared_files_child = 0;

namespace leaktrace::preload {

bool OutsideSharedMemoryChild() {
  const int pid = g_process.pid;  // 0 until the library's constructor ran
  if (pid == 0) return true;
  if (getpid() != pid) return false;
  // Our own pid: after a vfork the child is gone (the parent was suspended
  // until it exec'd or exited), so this thread is done checking. A clone
  // that shares memory may still be running: keep checking.
  if (leaktrace_shared_vm_child == 0) leaktrace_vfork_pending = 0;
  return true;
}

namespace {

// Stack first (the thread must not be busy), then the label (busy: snprintf
// and friends must not land in the heap hooks as the program's).
uint32_t Stack() { return CaptureStackId(t_state); }

uintptr_t PageSize() {
  static std::atomic<uintptr_t> size{0};
  uintptr_t s = size.load(std::memory_order_relaxed);
  if (s == 0) {
    const long v = sysconf(_SC_PAGESIZE);
    s = v > 0 ? static_cast<uintptr_t>(v) : 4096;
    size.store(s, std::memory_order_relaxed);
  }
  return s;
}

uintptr_t RoundUp(size_t n) {
  const uintptr_t page = PageSize();
  return (static_cast<uintptr_t>(n) + page - 1) & ~(page - 1);
}

// ---- whose mapping call is this -------------------------------------------

struct Range {
  uintptr_t begin = 0, end = 0;
  bool Contains(uintptr_t pc) const { return pc >= begin && pc < end; }
};
Range g_allocator_module;  // the module of the real malloc (libc itself with glibc malloc)
Range g_own_module;
std::atomic<int> g_modules_state{0};  // 0 not yet, 1 finding, 2 done

int FindModules(dl_phdr_info* info, size_t, void*) {
  const uintptr_t probes[2] = {reinterpret_cast<uintptr_t>(real.malloc),
                               reinterpret_cast<uintptr_t>(&FindModules)};
  Range* targets[2] = {&g_allocator_module, &g_own_module};
  Range all{UINTPTR_MAX, 0};
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    if (begin < all.begin) all.begin = begin;
    if (begin + ph.p_memsz > all.end) all.end = begin + ph.p_memsz;
  }
  for (int k = 0; k < 2; ++k)
    if (probes[k] != 0 && all.Contains(probes[k])) *targets[k] = all;
  return 0;
}

void FindModulesOnce() {
  int expected = 0;
  if (!g_modules_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    // Another thread is at it: until it is done, count the call as the
    // program's (at worst an allocator mapping is recorded).
    return;
  }
  BusyScope busy;
  ErrnoKeeper keep;
  LibcDlIteratePhdr(FindModules, nullptr);
  g_modules_state.store(2, std::memory_order_release);
}

}  // namespace

// ---- descriptors -----------------------------------------------------------

void RecordFd(int fd, uint32_t label_id) {
  ErrnoKeeper keep;
  const uint32_t stack = Stack();
  FdRecord(fd, stack, label_id);
}

void RecordFdPair(const int fds[2], uint32_t label_id) {
  ErrnoKeeper keep;
  const uint32_t stack = Stack();
  FdRecord(fds[0], stack, label_id);
  FdRecord(fds[1], stack, label_id);
}

void RecordOpenedFd(int fd, const char* path, const char* kind_guess, int dirfd) {
  ErrnoKeeper keep;
  const uint32_t stack = Stack();
  uint32_t label = 0;
  {
    BusyScope busy;
    if (path != nullptr && path[0] == '/') label = GuessedOpenedLabel(path, kind_guess);
    else if (path != nullptr && path[0] != '\0') label = RelativeOpenedLabel(dirfd, path, kind_guess);
    if (label == 0) label = OpenedPathLabel(fd, path);
  }
  FdRecord(fd, stack, label);
}

uint64_t TakeFdForReplace(int target) { return FdTake(target); }
void RestoreFd(int target, uint64_t taken) { FdRestore(target, taken); }

void RecordFdCopy(int fd, int source) {
  ErrnoKeeper keep;
  const uint32_t stack = Stack();
  // A guessed kind (kUnverifiedKind) is copied as is: the copy is the same
  // open file, so checking it later on either number tells the same (the
  // source of an accept, a socket, never carries one).
  uint32_t label = FdLabel(source);
  if (label == 0) {
    BusyScope busy;
    label = ProbeFdLabel(fd);
  }
  FdRecord(fd, stack, label);
}

void RecordProbedFd(int fd) {
  ErrnoKeeper keep;
  const uint32_t stack = Stack();
  uint32_t label;
  {
    BusyScope busy;
    label = ProbeFdLabel(fd);
  }
  FdRecord(fd, stack, label);
}

void RecordFdIfUnknown(int fd) {
  if (fd < 0 || FdRecorded(fd)) return;
  RecordProbedFd(fd);
}

void RecordReceivedFds(const void* msg_in) {
  const msghdr* msg = static_cast<const msghdr*>(msg_in);
  if (msg == nullptr || msg->msg_control == nullptr || msg->msg_controllen < sizeof(cmsghdr)) return;
  ErrnoKeeper keep;
  uint32_t stack = 0;
  for (const cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(msg), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* data = CMSG_DATA(c);
    for (size_t i = 0; i < n; ++i) {
      int fd;
      std::memcpy(&fd, data + i * sizeof(int), sizeof fd);
      if (stack == 0) stack = Stack();
      uint32_t label;
      {
        BusyScope busy;
        label = ProbeFdLabel(fd);
      }
      FdRecord(fd, stack, label);
    }
  }
}

void ForgetFd(int fd) { FdForget(fd); }
void ForgetFdRange(unsigned first, unsigned last) { FdForgetRange(first, last); }

// ---- mappings ----------------------------------------------------------------

bool TrackingMappingFrom(const void* caller) {
  if (!TrackingThisCall()) return false;
  if (LT_UNLIKELY(g_modules_state.load(std::memory_order_acquire) != 2)) {
    FindModulesOnce();
    if (g_modules_state.load(std::memory_order_acquire) != 2) return true;
  }
  const uintptr_t pc = reinterpret_cast<uintptr_t>(caller);
  // libunwind's own caches (mapped when another library unwinds with it, as
  // gperftools' tcmalloc does) are not the program's either.
  return !g_allocator_module.Contains(pc) && !g_own_module.Contains(pc) && !IsLeaktraceFrame(pc);
}

void RecordMapping(void* addr, size_t length, int flags, int fd) {
  if (length == 0) return;
  ErrnoKeeper keep;
  // The caller may be an allocator holding its own lock (jemalloc ahead of
  // leaktrace in LD_PRELOAD maps its chunks so): the capture must not
  // allocate (thread_state.h, stack_query_barred).
  ++t_state.stack_query_barred;
  const uint32_t stack = Stack();
  --t_state.stack_query_barred;
  if (stack == 0) return;
  BusyScope busy;
  uint32_t label;
  if ((flags & MAP_ANONYMOUS) || fd < 0) {
    label = KindLabel((flags & MAP_TYPE) == MAP_PRIVATE ? "anon" : "anon shared");
  } else {
    label = VerifiedOpenedLabel(fd, FdLabel(fd));
    if (label == 0) label = ProbeFdLabel(fd);
  }
  const uintptr_t start = reinterpret_cast<uintptr_t>(addr);
  MappingTableLock lock;
  MappingInsert(start, start + RoundUp(length), stack, label);
}

int UnmapTracked(void* addr, size_t length) {
  BusyScope busy;
  MappingTableLock lock;
  const int rc = real.munmap ? real.munmap(addr, length) : static_cast<int>(RawSyscall(SYS_munmap, addr, length));
  if (rc == 0) {
    ErrnoKeeper keep;
    const uintptr_t start = reinterpret_cast<uintptr_t>(addr);
    MappingRemove(start, start + RoundUp(length));
  }
  return rc;
}

void* RemapTracked(void* old, size_t old_size, size_t new_size, int flags, void* new_address) {
  BusyScope busy;
  MappingTableLock lock;
  void* fresh = real.mremap ? real.mremap(old, old_size, new_size, flags, new_address)
                               : reinterpret_cast<void*>(RawSyscall(SYS_mremap, old, old_size, new_size, flags, new_address));
  if (fresh != MAP_FAILED) {
    ErrnoKeeper keep;
    const bool keep_old = (flags & MREMAP_DONTUNMAP) != 0 || old_size == 0;
    MappingMove(reinterpret_cast<uintptr_t>(old), RoundUp(old_size), reinterpret_cast<uintptr_t>(fresh),
                RoundUp(new_size), keep_old);
  }
  return fresh;
}

}  // namespace leaktrace::preload
