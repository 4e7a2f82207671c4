#include "preload/internal/elf_symbols.h"

#include <string.h>

namespace leaktrace::preload {
namespace {

uintptr_t Absolute(uintptr_t base, ElfW(Addr) ptr) {
  // glibc relocates these entries of the dynamic section in place on most
  // targets; where it does not, they are still link-time addresses.
  return ptr < base ? base + ptr : ptr;
}

uint32_t GnuHash(const char* name) {
  uint32_t h = 5381;
  for (const unsigned char* c = reinterpret_cast<const unsigned char*>(name); *c != '\0'; ++c) h = h * 33 + *c;
  return h;
}

}  // namespace

bool ReadElfSymbols(uintptr_t base, const ElfW(Dyn)* dynamic, ElfSymbols* out) {
  ElfSymbols m;
  m.base = base;
  for (const ElfW(Dyn)* d = dynamic; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: m.symtab = reinterpret_cast<const ElfW(Sym)*>(Absolute(base, d->d_un.d_ptr)); break;
      case DT_STRTAB: m.strtab = reinterpret_cast<const char*>(Absolute(base, d->d_un.d_ptr)); break;
      case DT_GNU_HASH: m.gnu_hash = reinterpret_cast<const uint32_t*>(Absolute(base, d->d_un.d_ptr)); break;
      case DT_VERSYM: m.versym = reinterpret_cast<const ElfW(Half)*>(Absolute(base, d->d_un.d_ptr)); break;
      default: break;
    }
  }
  if (m.symtab == nullptr || m.strtab == nullptr) return false;
  *out = m;
  return true;
}

SymbolLookup FindFunction(const ElfSymbols& m, const char* name, void** address) {
  if (m.gnu_hash == nullptr) return SymbolLookup::kAskLoader;
  const uint32_t hash = GnuHash(name);
  const uint32_t nbuckets = m.gnu_hash[0], symoffset = m.gnu_hash[1], bloom_size = m.gnu_hash[2],
                 bloom_shift = m.gnu_hash[3];
  if (nbuckets == 0 || bloom_size == 0) return SymbolLookup::kAbsent;
  const auto* bloom = reinterpret_cast<const ElfW(Addr)*>(m.gnu_hash + 4);
  const auto* buckets = reinterpret_cast<const uint32_t*>(bloom + bloom_size);
  const uint32_t* chain = buckets + nbuckets;
  constexpr uint32_t kBits = sizeof(ElfW(Addr)) * 8;
  const ElfW(Addr) word = bloom[(hash / kBits) % bloom_size];
  const ElfW(Addr) mask = (ElfW(Addr){1} << (hash % kBits)) | (ElfW(Addr){1} << ((hash >> bloom_shift) % kBits));
  if ((word & mask) != mask) return SymbolLookup::kAbsent;
  uint32_t index = buckets[hash % nbuckets];
  if (index < symoffset) return SymbolLookup::kAbsent;
  const ElfW(Sym)* versioned = nullptr;  // the one default version of a versioned definition
  int versions = 0;
  for (;; ++index) {
    const uint32_t h = chain[index - symoffset];
    const ElfW(Sym)& s = m.symtab[index];
    if ((h | 1) == (hash | 1) && s.st_shndx != SHN_UNDEF && s.st_value != 0 &&
        strcmp(m.strtab + s.st_name, name) == 0) {
      const int bind = ELF64_ST_BIND(s.st_info);
      if (bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE) {
        // An IFUNC's resolver picks the implementation; anything but a
        // plain function is the loader's to judge too.
        if (ELF64_ST_TYPE(s.st_info) != STT_FUNC) return SymbolLookup::kAskLoader;
        const ElfW(Half) ver = m.versym != nullptr ? m.versym[index] : 1;
        if ((ver & 0x7fff) < 2) {  // unversioned
          *address = reinterpret_cast<void*>(m.base + s.st_value);
          return SymbolLookup::kFound;
        }
        if ((ver & 0x8000) == 0 && versions++ == 0) versioned = &s;  // hidden versions never match
      }
    }
    if (h & 1) break;
  }
  if (versions == 1) {
    *address = reinterpret_cast<void*>(m.base + versioned->st_value);
    return SymbolLookup::kFound;
  }
  return versions > 1 ? SymbolLookup::kAskLoader : SymbolLookup::kAbsent;
}

SymbolLookup FindFunctionIn(const link_map* module, const char* name, void** address) {
  ElfSymbols symbols;
  if (module == nullptr || module->l_ld == nullptr || !ReadElfSymbols(module->l_addr, module->l_ld, &symbols))
    return SymbolLookup::kAbsent;
  return FindFunction(symbols, name, address);
}

void* FunctionDefinedIn(const link_map* module, const char* name) {
  void* address = nullptr;
  return FindFunctionIn(module, name, &address) == SymbolLookup::kFound ? address : nullptr;
}

const link_map* LibcModule() {
  for (const link_map* m = _r_debug.r_map; m != nullptr; m = m->l_next)
    if (strncmp(ModuleBaseName(m), "libc.so", 7) == 0) return m;
  return nullptr;
}

const char* ModuleBaseName(const link_map* module) {
  const char* name = module->l_name != nullptr ? module->l_name : "";
  const char* slash = strrchr(name, '/');
  return slash != nullptr ? slash + 1 : name;
}

}  // namespace leaktrace::preload
