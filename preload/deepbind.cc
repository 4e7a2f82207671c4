#include "preload/deepbind.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#include "preload/log.h"
#include "preload/real_functions.h"
#include "preload/thread_state.h"
#include "preload/tracker.h"

extern "C" {
__attribute__((visibility("hidden"))) void* (*leaktrace_real_dlopen)(const char*, int) = nullptr;
}

namespace leaktrace::preload {
namespace {

// Every function libleaktrace.so hooks (exports.map), except dlopen itself.
constexpr const char* kHooked[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "aligned_alloc", "posix_memalign",
    "valloc", "pvalloc", "malloc_usable_size", "open", "open64", "openat", "openat64", "__open_2", "__open64_2",
    "__openat_2", "__openat64_2", "creat", "creat64", "close", "close_range", "closefrom", "socket", "socketpair",
    "accept", "accept4", "recvmsg", "pipe", "pipe2", "dup", "dup2", "dup3", "fcntl", "fcntl64", "epoll_create",
    "epoll_create1", "eventfd", "timerfd_create", "signalfd", "inotify_init", "inotify_init1", "memfd_create",
    "posix_openpt", "fopen", "fopen64", "fdopen", "freopen", "freopen64", "fclose", "popen", "pclose", "opendir",
    "fdopendir", "closedir", "mmap", "mmap64", "munmap", "mremap", "dlclose", "sigaction", "signal",
    "setuid", "setgid", "seteuid", "setegid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
};

bool IsHooked(const char* name) {
  for (const char* h : kHooked)
    if (strcmp(h, name) == 0) return true;
  return false;
}

// libleaktrace.so itself, libc, the loader and the real allocator keep their
// bindings: rewriting theirs would loop or double count.
bool MustNotPatch(const link_map* lm, const void* allocator_base) {
  const char* name = lm->l_name ? lm->l_name : "";
  if (name[0] == '\0') return true;  // the main program: bound globally already
  const char* base = strrchr(name, '/');
  base = base ? base + 1 : name;
  if (strncmp(base, "libleaktrace", 12) == 0 || strncmp(base, "libc.so", 7) == 0 ||
      strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "libunwind", 9) == 0)
    return true;
  Dl_info info;
  return allocator_base != nullptr && dladdr(reinterpret_cast<void*>(lm->l_addr + 1), &info) != 0 &&
         info.dli_fbase == allocator_base;
}

uintptr_t Absolute(const link_map* lm, ElfW(Addr) ptr) {
  // glibc relocates these entries of the dynamic section in place on most
  // targets; where it does not, they are still link-time addresses.
  return ptr < lm->l_addr ? lm->l_addr + ptr : ptr;
}

void WriteSlot(uintptr_t slot, void* target) {
  const uintptr_t page = slot & ~uintptr_t{4095};
  // The slot may be in RELRO (read-only after relocation): open it briefly.
  mprotect(reinterpret_cast<void*>(page), 4096, PROT_READ | PROT_WRITE);
  *reinterpret_cast<void**>(slot) = target;
}

struct RelroRange {
  uintptr_t begin = 0, end = 0;
};

int FindRelro(dl_phdr_info* info, size_t, void* data) {
  auto* want = static_cast<std::pair<uintptr_t, RelroRange>*>(data);
  if (info->dlpi_addr != want->first) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type != PT_GNU_RELRO) continue;
    want->second.begin = (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr) & ~uintptr_t{4095};
    want->second.end = (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr + info->dlpi_phdr[i].p_memsz + 4095) &
                       ~uintptr_t{4095};
  }
  return 1;
}

// Points `lm`'s imports of hooked functions at leaktrace's hooks. Returns
// how many slots were rewritten.
int Rebind(const link_map* lm) {
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Rela)* rela[2] = {nullptr, nullptr};
  size_t rela_bytes[2] = {0, 0};
  for (const ElfW(Dyn)* d = lm->l_ld; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: symtab = reinterpret_cast<const ElfW(Sym)*>(Absolute(lm, d->d_un.d_ptr)); break;
      case DT_STRTAB: strtab = reinterpret_cast<const char*>(Absolute(lm, d->d_un.d_ptr)); break;
      case DT_JMPREL: rela[0] = reinterpret_cast<const ElfW(Rela)*>(Absolute(lm, d->d_un.d_ptr)); break;
      case DT_PLTRELSZ: rela_bytes[0] = d->d_un.d_val; break;
      case DT_RELA: rela[1] = reinterpret_cast<const ElfW(Rela)*>(Absolute(lm, d->d_un.d_ptr)); break;
      case DT_RELASZ: rela_bytes[1] = d->d_un.d_val; break;
      default: break;
    }
  }
  if (symtab == nullptr || strtab == nullptr) return 0;
  std::pair<uintptr_t, RelroRange> relro{lm->l_addr, {}};
  dl_iterate_phdr(FindRelro, &relro);
  int rewritten = 0;
  for (int table = 0; table < 2; ++table) {
    if (rela[table] == nullptr) continue;
    const size_t count = rela_bytes[table] / sizeof(ElfW(Rela));
    for (size_t i = 0; i < count; ++i) {
      const ElfW(Rela)& r = rela[table][i];
      const auto type = ELF64_R_TYPE(r.r_info);
      if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
      const ElfW(Sym)& sym = symtab[ELF64_R_SYM(r.r_info)];
      const char* name = strtab + sym.st_name;
      if (sym.st_shndx != SHN_UNDEF || !IsHooked(name)) continue;
      void* ours = dlsym(RTLD_DEFAULT, name);  // the global binding: leaktrace's hook
      if (ours == nullptr) continue;
      WriteSlot(lm->l_addr + r.r_offset, ours);
      ++rewritten;
    }
  }
  if (relro.second.end > relro.second.begin)
    mprotect(reinterpret_cast<void*>(relro.second.begin), relro.second.end - relro.second.begin, PROT_READ);
  return rewritten;
}

void RebindDeepBound(void* handle) {
  link_map* lm = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == nullptr) return;
  Dl_info allocator;
  const void* allocator_base = dladdr(reinterpret_cast<void*>(real.malloc), &allocator) ? allocator.dli_fbase : nullptr;
  // The library and everything after it in load order: its dependencies came
  // with it (the rest, loaded globally, already bind to leaktrace).
  for (const link_map* m = lm; m != nullptr; m = m->l_next)
    if (!MustNotPatch(m, allocator_base)) Rebind(m);
}

}  // namespace

void ResolveRealDlopen() {
  if (leaktrace_real_dlopen == nullptr)
    leaktrace_real_dlopen = reinterpret_cast<void* (*)(const char*, int)>(dlsym(RTLD_NEXT, "dlopen"));
}

}  // namespace leaktrace::preload

using namespace leaktrace::preload;

extern "C" __attribute__((visibility("hidden"))) void* leaktrace_dlopen_deepbind(const char* file, int mode) {
  if (leaktrace_real_dlopen == nullptr) {
    BusyScope busy;
    ResolveRealDlopen();
    if (leaktrace_real_dlopen == nullptr) return nullptr;
  }
  void* handle = leaktrace_real_dlopen(file, mode);
  if (handle == nullptr || !(mode & RTLD_DEEPBIND) || t_state.busy != 0) return handle;
  EnsureInitialized();
  if (g_mode == Mode::kSampled || g_mode == Mode::kExact) {
    BusyScope busy;
    RebindDeepBound(handle);
  }
  return handle;
}
