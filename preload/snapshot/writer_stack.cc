#include "preload/snapshot/writer_stack.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "preload/internal/arena.h"
#include "preload/internal/raw_syscall.h"
#include "preload/internal/raw_syscall.h"

extern "C" void* __libc_stack_end;  // glibc: the main thread's stack top at start

namespace leaktrace::preload {
namespace {

// Four times what a dump takes (the header), untouched pages never made
// resident; a guard page below it ends a write that would run past it.
constexpr size_t kStackBytes = 128 * 1024;
constexpr size_t kGuardBytes = 4096;

char* g_stack_top = nullptr;         // under the dump lock
uintptr_t g_caller_frame = 0;         // under the dump lock: WriterCallerFrame

char* StackTop() {
  if (g_stack_top != nullptr) return g_stack_top;
  // Counted as leaktrace's own memory (the dump's leaktrace_mapped).
  void* base = MapMemory(kGuardBytes + kStackBytes);
  if (base == nullptr) return nullptr;
  // The guard: a write past the stack's end faults here rather than
  // landing in whatever is mapped below.
  RawSyscall(SYS_mprotect, base, kGuardBytes, PROT_NONE);
  g_stack_top = static_cast<char*>(base) + kGuardBytes + kStackBytes;
  return g_stack_top;
}

}  // namespace

bool RunOnWriterStack(void (*fn)(void*), void* arg) {
#if defined(__x86_64__)
  char* top = StackTop();
  if (top == nullptr) return false;
  g_caller_frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  // The old stack pointer is kept in rbx (callee-saved: fn leaves it as it
  // found it) and put back after the call; the new one is 16-aligned at the
  // call, as the ABI wants. Every register fn may change is a clobber.
  __asm__ volatile(
      "mov %%rsp, %%rbx\n\t"
      "mov %[top], %%rsp\n\t"
      "and $-16, %%rsp\n\t"
      "mov %[arg], %%rdi\n\t"
      "call *%[fn]\n\t"
      "mov %%rbx, %%rsp\n\t"
      :
      : [fn] "r"(fn), [arg] "r"(arg), [top] "r"(top)
      : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1",
        "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
        "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
  g_caller_frame = 0;
  return true;
#else
  fn(arg);
  return true;
#endif
}

uintptr_t WriterCallerFrame() { return g_caller_frame; }

bool RoomOnTheMainStack(uintptr_t bytes) {
  // The top of the main thread's stack as the loader found it (glibc's).
  const uintptr_t top = reinterpret_cast<uintptr_t>(__libc_stack_end);
  const uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  rlimit limit{};
  if (top == 0 || sp > top || RawSyscall(SYS_getrlimit, RLIMIT_STACK, &limit) != 0) return false;
  if (limit.rlim_cur == RLIM_INFINITY) return top - sp < (uintptr_t{64} << 20);  // on it, by any measure
  const uintptr_t used = top - sp;
  return used < limit.rlim_cur && limit.rlim_cur - used >= bytes;
}

}  // namespace leaktrace::preload
