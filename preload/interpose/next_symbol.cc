#include "preload/interpose/next_symbol.h"

#include <dlfcn.h>
#include <string.h>

#include "preload/internal/elf_symbols.h"
#include "preload/internal/fork_gate.h"
#include "preload/internal/libc_functions.h"
#include "preload/interpose/quiet_dlsym.h"

extern "C" const char __ehdr_start[] __attribute__((visibility("hidden")));

namespace leaktrace::preload {
namespace {

bool Contains(const dl_phdr_info& info, uintptr_t addr) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    const uintptr_t begin = info.dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && addr >= begin && addr < begin + ph.p_memsz) return true;
  }
  return false;
}

struct Collect {
  bool self_seen = false;
  bool ok = true;
};

bool IsLibc(const char* base) { return strncmp(base, "libc.so", 7) == 0; }

}  // namespace

bool NextSymbols::Open() {
  count_ = 0;
  struct Context {
    NextSymbols* self;
    Collect c;
  } ctx{this, {}};
  {
    ForkGateScope gate;  // dl_iterate_phdr: the loader's lock must not be held across fork
    LibcDlIteratePhdr(
        [](dl_phdr_info* info, size_t, void* data) {
          auto* x = static_cast<Context*>(data);
          if (!x->c.ok) return 1;
          const char* name = info->dlpi_name ? info->dlpi_name : "";
          const char* base = strrchr(name, '/');
          base = base ? base + 1 : name;
          if (!x->c.self_seen) {
            // Loaded after libc (dlopen'd: `leaktrace attach`), dlsym's
            // RTLD_NEXT searches this library's own scope, not the load
            // order after it: not ours to answer.
            if (IsLibc(base)) {
              x->c.ok = false;
              return 1;
            }
            x->c.self_seen = Contains(*info, reinterpret_cast<uintptr_t>(__ehdr_start));
            return 0;
          }
          // The vDSO is not in the scope dlsym searches.
          if (strncmp(base, "linux-vdso", 10) == 0 || strncmp(base, "linux-gate", 10) == 0) return 0;
          const ElfW(Dyn)* dynamic = nullptr;
          for (int i = 0; i < info->dlpi_phnum; ++i)
            if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
              dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
          if (dynamic == nullptr) return 0;  // nothing to find in it
          if (x->self->count_ == kMaxModules) {
            x->c.ok = false;
            return 1;
          }
          ElfSymbols m;
          if (!ReadElfSymbols(info->dlpi_addr, dynamic, &m)) return 0;  // defines nothing
          if (m.gnu_hash == nullptr) {  // DT_HASH only: leave it all to dlsym
            x->c.ok = false;
            return 1;
          }
          x->self->modules_[x->self->count_++] = m;
          return 0;
        },
        &ctx);
  }
  if (!ctx.c.self_seen || !ctx.c.ok) count_ = 0;
  return ctx.c.self_seen && ctx.c.ok;
}

void* NextSymbols::Find(const char* name) const {
  for (size_t i = 0; i < count_; ++i) {
    void* address = nullptr;
    switch (FindFunction(modules_[i], name, &address)) {
      case SymbolLookup::kFound: return address;
      case SymbolLookup::kAskLoader: return nullptr;  // dlsym
      case SymbolLookup::kAbsent: break;
    }
  }
  return nullptr;
}

void WithModulesHeld(void (*fn)(void*), void* ctx) {
  ForkGateScope gate;  // dl_iterate_phdr: the loader's lock must not be held across fork
  struct Call {
    void (*fn)(void*);
    void* ctx;
  } call{fn, ctx};
  LibcDlIteratePhdr(
      [](dl_phdr_info*, size_t, void* data) {
        auto* c = static_cast<Call*>(data);
        c->fn(c->ctx);
        return 1;  // once, the first module's turn: the lock is what is wanted
      },
      &call);
}

bool InMainProgram(const void* address) {
  struct Query {
    uintptr_t address;
    bool inside;
  } query{reinterpret_cast<uintptr_t>(address), false};
  LibcDlIteratePhdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* q = static_cast<Query*>(data);
        q->inside = Contains(*info, q->address);
        return 1;  // the main program only
      },
      &query);
  return query.inside;
}

namespace {

// dlsym(RTLD_DEFAULT, name), or for an executable's canonical PLT entry the
// first object after the program that defines `name` itself (read from its
// own tables: no dlopen, no allocation), this library included or not
// (`skip_self`).
void* DefinitionPastCanonicalPlt(const char* name, bool skip_self) {
  void* found = QuietDlsym(RTLD_DEFAULT, name);
  if (found == nullptr) return nullptr;
  Dl_info info;
  void* entry = nullptr;
  // An undefined symbol with a value: only an executable's canonical PLT
  // entry answers so.
  const auto* sym = static_cast<const ElfW(Sym)*>(
      LibcDladdr1(found, &info, &entry, RTLD_DL_SYMENT) != 0 ? entry : nullptr);
  if (sym == nullptr || sym->st_shndx != SHN_UNDEF || _r_debug.r_map == nullptr) return found;
  for (const link_map* lm = _r_debug.r_map->l_next; lm != nullptr; lm = lm->l_next) {
    if (skip_self && lm->l_addr == reinterpret_cast<ElfW(Addr)>(__ehdr_start)) continue;
    if (void* definition = FunctionDefinedIn(lm, name)) return definition;
  }
  return found;
}

}  // namespace

void* DefaultDefinition(const char* name) { return DefinitionPastCanonicalPlt(name, /*skip_self=*/true); }

void* BoundDefinition(const char* name) { return DefinitionPastCanonicalPlt(name, /*skip_self=*/false); }

}  // namespace leaktrace::preload
