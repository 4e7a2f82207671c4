#include "preload/internal/libc_functions.h"

#include <string.h>

#include <atomic>

#include "preload/internal/elf_symbols.h"

namespace leaktrace::preload {
namespace {

using IterateFn = int (*)(PhdrCallback, void*);
using DladdrFn = int (*)(const void*, Dl_info*);
using Dladdr1Fn = int (*)(const void*, Dl_info*, void**, int);

std::atomic<IterateFn> g_iterate{nullptr};
std::atomic<DladdrFn> g_dladdr{nullptr};
std::atomic<Dladdr1Fn> g_dladdr1{nullptr};
std::atomic<bool> g_resolved{false};

void Resolve() {
  const link_map* libc = LibcModule();
  auto* iterate = reinterpret_cast<IterateFn>(FunctionDefinedIn(libc, "dl_iterate_phdr"));
  auto* dladdr_fn = reinterpret_cast<DladdrFn>(FunctionDefinedIn(libc, "dladdr"));
  auto* dladdr1_fn = reinterpret_cast<Dladdr1Fn>(FunctionDefinedIn(libc, "dladdr1"));
  g_iterate.store(iterate != nullptr ? iterate : &dl_iterate_phdr, std::memory_order_relaxed);
  g_dladdr.store(dladdr_fn != nullptr ? dladdr_fn : &dladdr, std::memory_order_relaxed);
  g_dladdr1.store(dladdr1_fn != nullptr ? dladdr1_fn : &dladdr1, std::memory_order_relaxed);
  g_resolved.store(true, std::memory_order_release);
}

void EnsureResolved() {
  if (!g_resolved.load(std::memory_order_acquire)) Resolve();
}

}  // namespace

int LibcDlIteratePhdr(PhdrCallback callback, void* data) {
  EnsureResolved();
  return g_iterate.load(std::memory_order_relaxed)(callback, data);
}

int LibcDladdr(const void* address, Dl_info* info) {
  EnsureResolved();
  return g_dladdr.load(std::memory_order_relaxed)(address, info);
}

int LibcDladdr1(const void* address, Dl_info* info, void** extra, int flags) {
  EnsureResolved();
  return g_dladdr1.load(std::memory_order_relaxed)(address, info, extra, flags);
}

void LibcFunctionsResolve() { EnsureResolved(); }

}  // namespace leaktrace::preload

// libunwind's dl_iterate_phdr, renamed in its archive
// (record/unwinder_imports.syms).
extern "C" int leaktrace_unwinder_dl_iterate_phdr(leaktrace::preload::PhdrCallback callback, void* data) {
  return leaktrace::preload::LibcDlIteratePhdr(callback, data);
}
