#include "symbolizer/symbol_table.h"

#include <gelf.h>

#include <algorithm>

namespace leaktrace::symbolizer {

SymbolTable::SymbolTable(Dwfl_Module* module) {
  const int count = dwfl_module_getsymtab(module);
  for (int i = 1; i < count; ++i) {
    GElf_Sym sym;
    GElf_Addr addr = 0;
    GElf_Word section = 0;
    const char* name = dwfl_module_getsym_info(module, i, &sym, &addr, &section, nullptr, nullptr);
    if (name == nullptr || name[0] == '\0' || sym.st_shndx == SHN_UNDEF) continue;
    const int type = GELF_ST_TYPE(sym.st_info);
    if (type == STT_SECTION || type == STT_FILE || type == STT_TLS) continue;
    const int bind = GELF_ST_BIND(sym.st_info);
    const uint8_t rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
    symbols_.push_back({addr, sym.st_size, name, static_cast<uint32_t>(i), rank,
                        section == SHN_UNDEF || section >= SHN_LORESERVE});
  }
  std::sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) {
    return a.start != b.start ? a.start < b.start : a.rank < b.rank;
  });
  reach_.resize(symbols_.size());
  uint64_t reach = 0;
  for (size_t i = 0; i < symbols_.size(); ++i) {
    if (symbols_[i].size > 0) reach = std::max(reach, symbols_[i].start + symbols_[i].size);
    reach_[i] = reach;
  }
  GElf_Addr bias = 0;
  if (Elf* elf = dwfl_module_getelf(module, &bias)) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr || (shdr.sh_flags & SHF_ALLOC) == 0 || shdr.sh_size == 0) continue;
      sections_.push_back({shdr.sh_addr + bias, shdr.sh_addr + bias + shdr.sh_size});
    }
    std::sort(sections_.begin(), sections_.end(), [](const Section& a, const Section& b) { return a.start < b.start; });
  }
}

long SymbolTable::SectionOf(uint64_t addr) const {
  // A section's end counts as inside it (as libdwfl counts it), unless the
  // next section starts there.
  auto above = std::upper_bound(sections_.begin(), sections_.end(), addr,
                                [](uint64_t a, const Section& s) { return a < s.start; });
  if (above == sections_.begin() || addr > (above - 1)->end) return -1;
  return above - 1 - sections_.begin();
}

const char* SymbolTable::NameAt(uint64_t addr) const {
  auto above = std::upper_bound(symbols_.begin(), symbols_.end(), addr,
                                [](uint64_t a, const Symbol& s) { return a < s.start; });
  if (above == symbols_.begin()) return nullptr;
  const size_t nearest = static_cast<size_t>(above - symbols_.begin()) - 1;
  // The sized symbols that hold addr: back from the nearest start, no
  // further than where reach_ says none earlier reaches addr. A handful.
  constexpr size_t kMaxHolders = 64;
  const Symbol* holders[kMaxHolders];
  size_t count = 0;
  for (size_t i = nearest + 1; i-- > 0 && reach_[i] > addr && count < kMaxHolders;) {
    const Symbol& s = symbols_[i];
    if (s.size != 0 && addr - s.start < s.size) holders[count++] = &s;
  }
  std::sort(holders, holders + count, [](const Symbol* a, const Symbol* b) { return a->index < b->index; });
  // Globals and weak ones first, then the locals, each in table order.
  for (const bool locals : {false, true}) {
    const Symbol* kept = nullptr;
    for (size_t h = 0; h < count; ++h) {
      const Symbol& s = *holders[h];
      if ((s.rank == 2) != locals) continue;
      if (kept == nullptr || kept->start < s.start || kept->rank > s.rank ||
          (kept->start == s.start &&
           ((kept->size > s.size && kept->rank >= s.rank) || (kept->size >= s.size && kept->rank > s.rank))))
        kept = &s;
    }
    if (kept != nullptr) return kept->name;
  }
  // A label: every symbol at the nearest start sizeless (a sized one there
  // would reach past it), none below reaching past it, addr in its section.
  size_t first = nearest;
  while (first > 0 && symbols_[first - 1].start == symbols_[nearest].start) --first;
  const Symbol* label = nullptr;
  for (size_t i = first; i <= nearest; ++i) {
    if (symbols_[i].size != 0) return nullptr;
    if (label == nullptr || symbols_[i].index > label->index) label = &symbols_[i];
  }
  if (first > 0 && reach_[first - 1] > label->start) return nullptr;
  if (label->absolute) return label->start == addr ? label->name : nullptr;
  return SectionOf(label->start) == SectionOf(addr) ? label->name : nullptr;
}

}  // namespace leaktrace::symbolizer
