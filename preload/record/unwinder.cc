#include "preload/record/unwinder.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "format/restarted_calls.h"
#include "preload/internal/compiler.h"
#include "preload/internal/fork_gate.h"
#include "preload/internal/private_fds.h"
#include "preload/internal/signals_blocked.h"
#include "preload/internal/raw_syscall.h"
#include "preload/internal/libc_functions.h"

namespace leaktrace::preload {
namespace {

// [begin, end) of every executable segment of libleaktrace.so and libunwind:
// frames there are the tracker's, not the program's.
struct Range {
  uintptr_t begin, end;
};
Range g_own[8];
int g_own_count = 0;


int CollectOwnRanges(dl_phdr_info* info, size_t, void* data) {
  const auto* probes = static_cast<const uintptr_t*>(data);
  for (int pass = 0; pass < 2; ++pass) {
    bool mine = false;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
      const ElfW(Phdr)& ph = info->dlpi_phdr[i];
      if (ph.p_type != PT_LOAD) continue;
      const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
      const uintptr_t end = begin + ph.p_memsz;
      if (pass == 0) {
        mine |= (probes[0] >= begin && probes[0] < end) || (probes[1] >= begin && probes[1] < end);
      } else if ((ph.p_flags & PF_X) && g_own_count < 8) {
        g_own[g_own_count++] = {begin, end};
      }
    }
    if (!mine) break;
  }
  return 0;
}

}  // namespace

bool IsLeaktraceFrame(uintptr_t pc) {
  for (int i = 0; i < g_own_count; ++i)
    if (pc >= g_own[i].begin && pc < g_own[i].end) return true;
  return false;
}

// Set once libunwind has been set up (PrepareUnwinder).
std::atomic<bool> g_unwinder_ready{false};

void PrepareUnwinder() {
  if (LT_LIKELY(g_unwinder_ready.load(std::memory_order_acquire))) return;
  // libunwind sets itself up here (its pools, its static data), at the
  // first capture rather than at every process start, most of which never
  // capture a stack in sampled mode. Two threads may both get here; the
  // call is idempotent. Its memory-validation pipe is made when first
  // needed (deps/unwinder-patches/05), if ever; what the pipe also was,
  // two descriptors an out-of-descriptors dump could free, is the spare
  // now (one eventfd: three system calls where the pipe took five; none in
  // a sandbox).
  //
  // The global caching policy, under its lock: the libunwind we build has no
  // per-thread register-state cache (--enable-per-thread-cache, off, would
  // put ~40 KiB of TLS in every thread the program starts), and asked for
  // per-thread caching it then shares its one global cache among threads
  // without taking the lock (get_rs_cache locks for UNW_CACHE_GLOBAL only):
  // two threads' first unwinds could corrupt its hash chains, and a lookup
  // loop forever in the program's thread. The lock is taken only when a
  // frame misses the per-thread frame table, and blocks no signal here (the
  // capture has them blocked already: leaktrace_unwinder_sigprocmask).
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_GLOBAL);
  KeepSpareFd();
  g_unwinder_ready.store(true, std::memory_order_release);
}

void InitUnwinder() {
  SetOutOfDescriptorsRelief(&ReleaseUnwinderPipe);
  uintptr_t probes[2] = {reinterpret_cast<uintptr_t>(&CaptureStack),
                         reinterpret_cast<uintptr_t>(&unw_backtrace)};
  g_own_count = 0;
  LibcDlIteratePhdr(CollectOwnRanges, probes);
}

void MarkStackReadable(uintptr_t low, uintptr_t high) { unw_set_readable_stack(low, high); }

namespace {

// MarkForkingStack's: the mark and the thread it holds for (0: none). On
// the page the fork child writes anyway (LT_FORK_STATE).
LT_FORK_STATE std::atomic<uintptr_t> g_forking_stack_mark{0};
LT_FORK_STATE std::atomic<long> g_forking_tid{0};

// Whether `ip` lies in the C library's function for one of the waits a
// signal cuts short (by its dynamic symbol and size): select, poll,
// epoll_wait, a sleep, pause, sigsuspend and their kin. A futex wait that
// also returns EINTR may be a lock's, taken while another is held.
bool InAWaitFunction(uintptr_t ip) {
  Dl_info info;
  void* entry = nullptr;
  if (LibcDladdr1(reinterpret_cast<void*>(ip), &info, &entry, RTLD_DL_SYMENT) == 0 || info.dli_sname == nullptr ||
      entry == nullptr)
    return false;
  const auto* symbol = static_cast<const ElfW(Sym)*>(entry);
  if (ELF64_ST_TYPE(symbol->st_info) != STT_FUNC) return false;
  if (ip >= reinterpret_cast<uintptr_t>(info.dli_saddr) + symbol->st_size) return false;
  static constexpr const char* kWaits[] = {
      "select", "__select", "pselect", "poll", "__poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_pwait2",
      "nanosleep", "__nanosleep", "clock_nanosleep", "__clock_nanosleep", "pause", "sigsuspend", "__sigsuspend",
      "sigtimedwait", "sigwaitinfo"};
  for (const char* name : kWaits)
    if (strcmp(info.dli_sname, name) == 0) return true;
  return false;
}

// Whether the frame at `cursor`, one a signal interrupted, waited in a
// system call: its instruction pointer just past a `syscall` instruction
// in one of the C library's waits, with -EINTR in rax (a wait the signal
// cut short), or on one with a restarted wait's number in rax
// (format/restarted_calls.h: read, accept, waitpid ...). Such a thread holds
// no lock an allocator or the loader takes to start a thread. x86-64.
bool InterruptedAWait(unw_cursor_t& cursor) {
#if defined(__x86_64__)
  unw_word_t ip = 0, rax = 0;
  if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || unw_get_reg(&cursor, UNW_X86_64_RAX, &rax) != 0) return false;
  const uintptr_t in_page = ip & 4095;
  if (in_page < 2 || in_page > 4094) return false;  // the two bytes read must lie in ip's own page
  const auto* code = reinterpret_cast<const unsigned char*>(ip);
  if (static_cast<long>(rax) == -EINTR) return code[-2] == 0x0f && code[-1] == 0x05 && InAWaitFunction(ip);
  return code[0] == 0x0f && code[1] == 0x05 && format::RestartedAfterHandler(static_cast<long>(rax));
#else
  (void)cursor;
  return false;
#endif
}

// Whether the signal frame at `cursor` (libunwind's: the interrupted frame,
// with the registers the signal saved) was on the stack before this
// process was forked from it, and interrupted a wait (MayBeInASignalHandler
// says why it may then be passed over).
bool PassedOverFromBeforeTheFork(unw_cursor_t& cursor) {
  const uintptr_t mark = g_forking_stack_mark.load(std::memory_order_relaxed);
  if (mark == 0 || RawSyscall(SYS_gettid) != g_forking_tid.load(std::memory_order_relaxed)) return false;
  unw_word_t sp = 0;
  if (unw_get_reg(&cursor, UNW_REG_SP, &sp) != 0 || sp <= mark) return false;
  return InterruptedAWait(cursor);
}

}  // namespace

LT_FORK_CHILD_CODE void MarkForkingStack(uintptr_t stack_mark) {
  g_forking_tid.store(RawSyscall(SYS_gettid), std::memory_order_relaxed);
  g_forking_stack_mark.store(stack_mark, std::memory_order_relaxed);
}

bool MayBeInASignalHandler() {
  stack_t alternate;
  if (sigaltstack(nullptr, &alternate) == 0 && (alternate.ss_flags & SS_ONSTACK) != 0) return true;
  ForkGateScope gate;
  SignalsBlockedScope blocked;
  PrepareUnwinder();
  unw_context_t context;
  unw_cursor_t cursor;
  if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return true;
  for (int frames = 0; frames < 512; ++frames) {
    if (unw_is_signal_frame(&cursor) > 0 && !PassedOverFromBeforeTheFork(cursor)) return true;
    const int step = unw_step(&cursor);
    if (step == 0) return false;  // the outermost frame, no handler below it
    if (step < 0) return true;
  }
  return true;
}

void CaptureStack(CapturedStack& out) {
  constexpr int kSlack = 16;  // room for our own frames, stripped below
  void* frames[kMaxUserFrames + kSlack];
  int n;
  {
    ForkGateScope gate;  // libunwind's locks and the loader's must not be held across fork
    SignalsBlockedScope blocked;  // at most one mask change, not two per frame libunwind looks up
    PrepareUnwinder();
    n = unw_backtrace(frames, kMaxUserFrames + kSlack);
  }
  int first = 0;
  while (first < n && IsLeaktraceFrame(reinterpret_cast<uintptr_t>(frames[first]))) ++first;
  int depth = n - first;
  out.truncated = n == kMaxUserFrames + kSlack;
  if (depth > static_cast<int>(kMaxUserFrames)) {
    depth = kMaxUserFrames;
    out.truncated = true;
  }
  out.depth = depth < 0 ? 0 : static_cast<uint32_t>(depth);
  for (uint32_t i = 0; i < out.depth; ++i) out.pcs[i] = reinterpret_cast<uintptr_t>(frames[first + i]);
}

static_assert(sizeof(TraceFrame) == sizeof(unw_trace_frame_t) &&
              offsetof(unw_trace_frame_t, slot) == offsetof(TraceFrame, slot) &&
              offsetof(unw_trace_frame_t, rbp) == offsetof(TraceFrame, fp) &&
              offsetof(unw_trace_frame_t, rbp_slot) == offsetof(TraceFrame, fp_slot) &&
              offsetof(unw_trace_frame_t, flags) == offsetof(TraceFrame, flags));
static_assert(kTraceLooseSlot == UNW_TRACE_LOOSE_SLOT && kTraceOtherReads == UNW_TRACE_OTHER_READS);

int TraceWithSlots(uintptr_t* pcs, TraceFrame* frames, int max) {
  static_assert(sizeof(uintptr_t) == sizeof(void*));
  ForkGateScope gate;  // as in CaptureStack
  SignalsBlockedScope blocked;
  PrepareUnwinder();
  return unw_backtrace_with_slots(reinterpret_cast<void**>(pcs), reinterpret_cast<unw_trace_frame_t*>(frames), max);
}

}  // namespace leaktrace::preload
