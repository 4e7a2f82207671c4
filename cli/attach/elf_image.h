// What `leaktrace attach` needs from an ELF file on disk: its class and the
// value of a dynamic symbol, to find functions in a process that has the
// file mapped (process_modules.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace leaktrace::cli::attach {

struct ElfImage {
  bool is_64 = false;
  bool x86_64 = false;
  bool has_interp = false;    // PT_INTERP: started through the dynamic loader
  uint64_t first_load_vaddr = 0;  // p_vaddr of the first PT_LOAD, page-aligned
};

// nullopt when `path` is not a readable ELF file.
std::optional<ElfImage> ReadElfImage(const std::string& path);

// st_value of the defined function `name` in the file's .dynsym (any
// version), or nullopt.
std::optional<uint64_t> DynamicSymbol(const std::string& path, const std::string& name);

}  // namespace leaktrace::cli::attach
