#include "preload/internal/kernel_clock.h"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

#include <atomic>

#include "preload/internal/elf_symbols.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {
namespace {

using ClockFn = int (*)(clockid_t, timespec*);

// The vDSO's clock_gettime, or nullptr when there is none. Found by any
// thread that needs it first; they all find the same.
std::atomic<ClockFn> g_vdso_clock{nullptr};
std::atomic<bool> g_looked{false};

int SyscallClock(clockid_t clock, timespec* ts) {
  return static_cast<int>(RawSyscall(SYS_clock_gettime, clock, reinterpret_cast<long>(ts)));
}

// The address of `name` in the vDSO's own symbol table (elf_symbols.h).
void* VdsoSymbol(const char* name) {
  const uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  if (base == 0) return nullptr;
  const auto* header = reinterpret_cast<const ElfW(Ehdr)*>(base);
  const auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(base + header->e_phoff);
  uintptr_t bias = 0;
  const ElfW(Dyn)* dynamic = nullptr;
  for (int i = 0; i < header->e_phnum; ++i) {
    if (phdr[i].p_type == PT_LOAD && bias == 0) bias = base + phdr[i].p_offset - phdr[i].p_vaddr;
    if (phdr[i].p_type == PT_DYNAMIC) dynamic = reinterpret_cast<const ElfW(Dyn)*>(base + phdr[i].p_offset);
  }
  ElfSymbols symbols;
  void* address = nullptr;
  if (bias == 0 || dynamic == nullptr || !ReadElfSymbols(bias, dynamic, &symbols) ||
      FindFunction(symbols, name, &address) != SymbolLookup::kFound)
    return nullptr;
  return address;
}

ClockFn LookUp() {
  void* found = VdsoSymbol("__vdso_clock_gettime");  // x86-64
  if (found == nullptr) found = VdsoSymbol("__kernel_clock_gettime");  // aarch64
  const ClockFn fn = reinterpret_cast<ClockFn>(found);
  g_vdso_clock.store(fn, std::memory_order_relaxed);
  g_looked.store(true, std::memory_order_release);
  return fn;
}

}  // namespace

int KernelClockGettime(clockid_t clock, timespec* ts) {
  ClockFn fn = g_vdso_clock.load(std::memory_order_relaxed);
  if (__builtin_expect(fn == nullptr, 0)) {
    fn = g_looked.load(std::memory_order_acquire) ? nullptr : LookUp();
    if (fn == nullptr) return SyscallClock(clock, ts);
  }
  return fn(clock, ts);
}

int64_t KernelClockNs(clockid_t clock) {
  timespec ts{};
  KernelClockGettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace leaktrace::preload
