#include "preload/interpose/got_rewrite.h"
#include "preload/internal/compiler.h"

#include <elf.h>
#include <sys/mman.h>

#include "preload/internal/libc_functions.h"
#include "preload/internal/spin_lock.h"

namespace leaktrace::preload {
namespace {

constexpr uintptr_t kPage = 4096;

LT_FORK_LOCK SpinLock g_rewrite_lock;

uintptr_t Absolute(uintptr_t base, ElfW(Addr) ptr) {
  // glibc relocates these entries of the dynamic section in place on most
  // targets; where it does not, they are still link-time addresses.
  return ptr < base ? base + ptr : ptr;
}

void WriteSlot(const LoadedModule& m, uintptr_t slot, void* target) {
  // A slot in RELRO is read-only after relocation: open its page (closed
  // again by the caller). Every other relocated slot is writable data.
  if (slot >= m.relro_begin && slot < m.relro_end)
    mprotect(reinterpret_cast<void*>(slot & ~(kPage - 1)), kPage, PROT_READ | PROT_WRITE);
  __atomic_store_n(reinterpret_cast<void**>(slot), target, __ATOMIC_RELEASE);
}

}  // namespace

bool DescribeModule(const dl_phdr_info& info, LoadedModule& m) {
  m = LoadedModule{};
  m.base = info.dlpi_addr;
  m.image_begin = UINTPTR_MAX;
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    const uintptr_t begin = info.dlpi_addr + ph.p_vaddr;
    switch (ph.p_type) {
      case PT_DYNAMIC:
        m.dynamic = reinterpret_cast<const ElfW(Dyn)*>(begin);
        break;
      case PT_GNU_RELRO:
        // As the loader protects it: whole pages only, the partial last
        // page stays writable (it holds ordinary data too).
        m.relro_begin = begin & ~(kPage - 1);
        m.relro_end = (begin + ph.p_memsz) & ~(kPage - 1);
        break;
      case PT_LOAD:
        if (begin < m.image_begin) m.image_begin = begin;
        if (begin + ph.p_memsz > m.image_end) m.image_end = begin + ph.p_memsz;
        break;
      default:
        break;
    }
  }
  return m.dynamic != nullptr;
}

bool FindLoadedModule(const void* addr, LoadedModule& m) {
  struct Want {
    uintptr_t addr;
    LoadedModule* module;
    bool found = false;
  } want{reinterpret_cast<uintptr_t>(addr), &m};
  LibcDlIteratePhdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* w = static_cast<Want*>(data);
        LoadedModule candidate;
        DescribeModule(*info, candidate);
        if (w->addr < candidate.image_begin || w->addr >= candidate.image_end) return 0;
        *w->module = candidate;
        w->found = true;
        return 1;
      },
      &want);
  return want.found;
}

int RewriteImports(const LoadedModule& m, ImportResolver resolve, void* ctx, bool include_defined) {
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Rela)* rela[2] = {nullptr, nullptr};
  size_t rela_bytes[2] = {0, 0};
  for (const ElfW(Dyn)* d = m.dynamic; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: symtab = reinterpret_cast<const ElfW(Sym)*>(Absolute(m.base, d->d_un.d_ptr)); break;
      case DT_STRTAB: strtab = reinterpret_cast<const char*>(Absolute(m.base, d->d_un.d_ptr)); break;
      case DT_JMPREL: rela[0] = reinterpret_cast<const ElfW(Rela)*>(Absolute(m.base, d->d_un.d_ptr)); break;
      case DT_PLTRELSZ: rela_bytes[0] = d->d_un.d_val; break;
      case DT_RELA: rela[1] = reinterpret_cast<const ElfW(Rela)*>(Absolute(m.base, d->d_un.d_ptr)); break;
      case DT_RELASZ: rela_bytes[1] = d->d_un.d_val; break;
      // Relocations in text: its slots may sit in executable pages; leave it.
      case DT_TEXTREL: return 0;
      case DT_FLAGS: if (d->d_un.d_val & DF_TEXTREL) return 0; break;
      default: break;
    }
  }
  if (symtab == nullptr || strtab == nullptr) return 0;
  SpinGuard guard(g_rewrite_lock);
  int rewritten = 0;
  for (int table = 0; table < 2; ++table) {
    if (rela[table] == nullptr) continue;
    const size_t count = rela_bytes[table] / sizeof(ElfW(Rela));
    for (size_t i = 0; i < count; ++i) {
      const ElfW(Rela)& r = rela[table][i];
      const auto type = ELF64_R_TYPE(r.r_info);
      const bool data = type == R_X86_64_64;
      if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT && !(data && r.r_addend == 0)) continue;
      const ElfW(Sym)& sym = symtab[ELF64_R_SYM(r.r_info)];
      if (sym.st_name == 0 || (sym.st_shndx != SHN_UNDEF && !include_defined)) continue;
      const uintptr_t slot = m.base + r.r_offset;
      ImportSlot s;
      s.name = strtab + sym.st_name;
      s.data = data;
      s.defined = sym.st_shndx != SHN_UNDEF;
      s.current = *reinterpret_cast<void* const*>(slot);
      const uintptr_t cur = reinterpret_cast<uintptr_t>(s.current);
      s.lazy_unbound = type == R_X86_64_JUMP_SLOT && !s.defined && cur >= m.image_begin && cur < m.image_end;
      void* target = resolve(s, ctx);
      if (target == nullptr || target == s.current) continue;
      WriteSlot(m, slot, target);
      ++rewritten;
    }
  }
  if (rewritten != 0 && m.relro_end > m.relro_begin)
    mprotect(reinterpret_cast<void*>(m.relro_begin), m.relro_end - m.relro_begin, PROT_READ);
  return rewritten;
}

void GotRewritePrepareFork() { g_rewrite_lock.Lock(); }
void GotRewriteParentAfterFork() { g_rewrite_lock.Unlock(); }
LT_FORK_CHILD_CODE void GotRewriteChildAfterFork() { g_rewrite_lock.Reset(); }

}  // namespace leaktrace::preload
