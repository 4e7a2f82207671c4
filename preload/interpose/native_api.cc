#include "preload/interpose/native_api.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <string.h>

#include <atomic>

#include "preload/internal/fork_gate.h"
#include "preload/interpose/got_rewrite.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"
#include "preload/internal/libc_functions.h"
#include "preload/interpose/quiet_dlsym.h"

extern "C" {
__attribute__((visibility("hidden"))) unsigned char leaktrace_native_active = 0;
__attribute__((visibility("hidden"))) void* (*leaktrace_real_dlsym)(void*, const char*) = nullptr;
}

namespace leaktrace::preload {
namespace {

NativeFamily g_families[2];  // set by StartNativeApi

// Set once by StartNativeApi, before anything is wrapped.
uintptr_t g_self_begin, g_self_end;            // libleaktrace.so
uintptr_t g_allocator_begin, g_allocator_end;  // the module behind malloc

std::atomic<bool> g_rescanning{false};
std::atomic<unsigned long long> g_seen_adds{~0ull};

constexpr size_t kMaxModules = 1024;
LoadedModule g_modules[kMaxModules];  // guarded by g_rescanning
bool g_include_defined[kMaxModules];  // guarded by g_rescanning

// Attached (attach.h): the resolver that points imports of the hooked
// functions at the hooks; nullptr otherwise.
ImportResolver g_hook_resolver = nullptr;
AttachedHookLookup g_hook_lookup = nullptr;

const NativeFunction* FindWrapped(const char* name) {
  for (const NativeFamily& family : g_families)
    for (size_t i = 0; i < family.count; ++i) {
      const NativeFunction& f = family.functions[i];
      if (*f.real != nullptr && strcmp(f.name, name) == 0) return &f;
    }
  return nullptr;
}

// A slot bound (or about to be bound, lazily) to the allocator's definition
// gets the wrapper; anything else the module chose stays.
void* NativeResolver(const ImportSlot& slot, void*) {
  const NativeFunction* f = FindWrapped(slot.name);
  if (f == nullptr) return nullptr;
  if (slot.current == *f->real || (slot.lazy_unbound && !slot.data)) return f->wrapper;
  return nullptr;
}

void* Resolve(const ImportSlot& slot, void* ctx) {
  if (!slot.defined) {
    if (void* wrapper = NativeResolver(slot, ctx)) return wrapper;
  }
  return g_hook_resolver != nullptr ? g_hook_resolver(slot, ctx) : nullptr;
}

bool IsLibc(const char* name) {
  const char* base = strrchr(name, '/');
  base = base ? base + 1 : name;
  return strncmp(base, "libc.so", 7) == 0;
}

struct Collect {
  size_t count = 0;
  unsigned long long adds = 0;
};

int CollectModule(dl_phdr_info* info, size_t size, void* data) {
  auto* c = static_cast<Collect*>(data);
  if (size >= offsetof(dl_phdr_info, dlpi_adds) + sizeof info->dlpi_adds) c->adds = info->dlpi_adds;
  if (c->count == kMaxModules) return 0;
  LoadedModule m;
  if (!DescribeModule(*info, m)) return 0;
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  // leaktrace itself and the allocator keep their own bindings (the
  // allocator's internal calls through its PLT are on its own blocks). When
  // attached, libc's own calls of the hooked functions (getline's realloc,
  // fopen's open) are rewritten as preloading would have bound them, even
  // when libc is the allocator: glibc's malloc calls itself directly.
  if (m.image_begin == g_self_begin) return 0;
  const bool libc = g_hook_resolver != nullptr && IsLibc(name);
  if (m.image_begin == g_allocator_begin && !libc) return 0;
  const char* base = strrchr(name, '/');
  base = base ? base + 1 : name;
  if (strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "linux-vdso", 10) == 0) return 0;
  g_include_defined[c->count] = libc || (g_hook_resolver != nullptr && m.image_begin != g_allocator_begin);
  g_modules[c->count++] = m;
  return 0;
}

int ReadAdds(dl_phdr_info* info, size_t size, void* data) {
  if (size >= offsetof(dl_phdr_info, dlpi_adds) + sizeof info->dlpi_adds)
    *static_cast<unsigned long long*>(data) = info->dlpi_adds;
  return 1;
}

void Rescan(bool force) {
  if (!leaktrace_native_active) return;
  ForkGateScope gate;  // dl_iterate_phdr: the loader's lock must not be held across fork
  if (!force) {
    unsigned long long adds = 0;
    LibcDlIteratePhdr(ReadAdds, &adds);
    if (adds == g_seen_adds.load(std::memory_order_acquire)) return;
  }
  // One rescan at a time; a caller that finds one under way goes on (the
  // rescan in progress covers what it would have done).
  if (g_rescanning.exchange(true, std::memory_order_acquire)) return;
  Collect c;
  LibcDlIteratePhdr(CollectModule, &c);
  for (size_t i = 0; i < c.count; ++i) RewriteImports(g_modules[i], Resolve, nullptr, g_include_defined[i]);
  g_seen_adds.store(c.adds, std::memory_order_release);
  g_rescanning.store(false, std::memory_order_release);
}

// The span of the loaded module whose segments hold `addr`. (Not dladdr:
// it walks the module's whole symbol table, a large share of a process
// start.)
bool ImageOf(const void* addr, uintptr_t& begin, uintptr_t& end) {
  LoadedModule m;
  if (!FindLoadedModule(addr, m)) return false;
  begin = m.image_begin;
  end = m.image_end;
  return true;
}

bool InAllocator(const void* fn) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(fn);
  return a >= g_allocator_begin && a < g_allocator_end;
}

// Resolves one family's functions; wraps none unless every required one is
// the allocator's and what the program's global lookup finds.
bool ResolveFamily(const NativeFamily& family) {
  void* found[64] = {};
  if (family.count > 64) return false;
  for (size_t i = 0; i < family.count; ++i) {
    const NativeFunction& f = family.functions[i];
    // Where the table looks (real_functions.h): RTLD_DEFAULT when attached,
    // leaktrace then not being in the global scope.
    void* next = QuietDlsym(g_real_scope, f.name);
    if (next != nullptr && (!InAllocator(next) || QuietDlsym(RTLD_DEFAULT, f.name) != next)) next = nullptr;
    if (next == nullptr && f.required) return false;
    found[i] = next;
  }
  for (size_t i = 0; i < family.count; ++i) *family.functions[i].real = found[i];
  return true;
}

void ResolveRealDlsym() {
  // Not dlsym itself: that is this library's entry.
  void* fn = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  if (fn == nullptr) fn = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
  __atomic_store_n(&leaktrace_real_dlsym, reinterpret_cast<void* (*)(void*, const char*)>(fn), __ATOMIC_RELEASE);
}

}  // namespace

void StartNativeApi() {
  if (leaktrace_real_dlsym == nullptr) ResolveRealDlsym();
  if (!ImageOf(reinterpret_cast<const void*>(&StartNativeApi), g_self_begin, g_self_end)) return;
  if (!ImageOf(reinterpret_cast<const void*>(real.malloc), g_allocator_begin, g_allocator_end)) return;
  if (g_allocator_begin == g_self_begin) return;
  // glibc's malloc has neither family, and a failed dlsym allocates its
  // error message through malloc: in a program that allocates nothing
  // itself, that alone set glibc's malloc up (getrandom, two brk, a heap
  // mapping that every fork then copies and every fork child unmaps).
  uintptr_t libc_begin = 0, libc_end = 0;
  if (ImageOf(reinterpret_cast<const void*>(&gnu_get_libc_version), libc_begin, libc_end) &&
      libc_begin == g_allocator_begin)
    return;
  g_families[0] = JemallocFamily();
  g_families[1] = TcmallocFamily();
  bool any = false;
  for (const NativeFamily& family : g_families) any |= ResolveFamily(family);
  if (!any) return;
  leaktrace_native_active = 1;
  Rescan(true);
}

void NativeApiAfterLoad() { Rescan(false); }

void StartAttachedRewrite(ImportResolver hooks, AttachedHookLookup lookup) {
  g_hook_resolver = hooks;
  g_hook_lookup = lookup;
  leaktrace_native_active = 1;
  Rescan(true);
}

}  // namespace leaktrace::preload

using namespace leaktrace::preload;

extern "C" __attribute__((visibility("hidden"))) void* leaktrace_dlsym_hook(void* handle, const char* name) {
  if (__atomic_load_n(&leaktrace_real_dlsym, __ATOMIC_ACQUIRE) == nullptr) {
    BusyScope busy;
    ResolveRealDlsym();
    return nullptr;
  }
  if (!leaktrace_native_active || t_state.busy != 0 || name == nullptr) return nullptr;
  BusyScope busy;
  Rescan(false);
  // RTLD_NEXT depends on who asks: the real dlsym answers it for the caller.
  if (handle == RTLD_NEXT) return nullptr;
  const NativeFunction* f = FindWrapped(name);
  if (f == nullptr && g_hook_lookup != nullptr) {
    // Attached: a hooked function looked up by name is the hook, as the
    // lookup would have found it in a preloaded process.
    if (!g_hook_lookup(name, nullptr)) return nullptr;
    return g_hook_lookup(name, leaktrace_real_dlsym(handle, name));
  }
  if (f == nullptr) return nullptr;
  // The lookup a caller in the global scope would make finds the same
  // definition (the allocator is global, it serves malloc).
  return leaktrace_real_dlsym(handle, name) == *f->real ? f->wrapper : nullptr;
}
