#include "cli/attach/elf_image.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace leaktrace::cli::attach {
namespace {

// The file mapped read-only for the lifetime of the object.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(sizeof(Elf64_Ehdr))) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const unsigned char*>(p);
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    close(fd);
  }
  ~MappedFile() {
    if (data_) munmap(const_cast<unsigned char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  bool Valid() const { return data_ != nullptr && std::memcmp(data_, ELFMAG, SELFMAG) == 0; }
  template <typename T>
  const T* At(uint64_t offset, uint64_t count = 1) const {
    if (offset > size_ || count > (size_ - offset) / sizeof(T)) return nullptr;
    return reinterpret_cast<const T*>(data_ + offset);
  }
  size_t size() const { return size_; }

 private:
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

std::optional<ElfImage> ReadElfImage(const std::string& path) {
  MappedFile f(path);
  if (!f.Valid()) return std::nullopt;
  ElfImage image;
  const auto* ident = f.At<unsigned char>(0, EI_NIDENT);
  image.is_64 = ident[EI_CLASS] == ELFCLASS64;
  if (!image.is_64) return image;
  const auto* eh = f.At<Elf64_Ehdr>(0);
  image.x86_64 = eh->e_machine == EM_X86_64;
  const auto* ph = f.At<Elf64_Phdr>(eh->e_phoff, eh->e_phnum);
  if (ph == nullptr) return std::nullopt;
  bool first = true;
  for (int i = 0; i < eh->e_phnum; ++i) {
    if (ph[i].p_type == PT_INTERP) image.has_interp = true;
    if (ph[i].p_type == PT_LOAD && first) {
      image.first_load_vaddr = ph[i].p_vaddr & ~uint64_t{4095};
      first = false;
    }
  }
  return image;
}

std::optional<uint64_t> DynamicSymbol(const std::string& path, const std::string& name) {
  MappedFile f(path);
  if (!f.Valid() || f.At<unsigned char>(0, EI_NIDENT)[EI_CLASS] != ELFCLASS64) return std::nullopt;
  const auto* eh = f.At<Elf64_Ehdr>(0);
  const auto* sh = f.At<Elf64_Shdr>(eh->e_shoff, eh->e_shnum);
  if (sh == nullptr) return std::nullopt;
  for (int i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym)) continue;
    const Elf64_Shdr& str = sh[sh[i].sh_link];
    const auto* syms = f.At<Elf64_Sym>(sh[i].sh_offset, sh[i].sh_size / sizeof(Elf64_Sym));
    const char* strings = f.At<char>(str.sh_offset, str.sh_size);
    if (syms == nullptr || strings == nullptr) return std::nullopt;
    for (uint64_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); ++k) {
      const Elf64_Sym& s = syms[k];
      if (s.st_shndx == SHN_UNDEF || s.st_name >= str.sh_size || s.st_value == 0) continue;
      if (ELF64_ST_TYPE(s.st_info) != STT_FUNC) continue;
      const char* n = strings + s.st_name;
      if (strnlen(n, str.sh_size - s.st_name) == name.size() && name == n) return s.st_value;
    }
  }
  return std::nullopt;
}

}  // namespace leaktrace::cli::attach
