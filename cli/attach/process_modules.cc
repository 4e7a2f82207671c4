#include "cli/attach/process_modules.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "cli/attach/elf_image.h"

namespace leaktrace::cli::attach {

std::vector<ProcessModule> ReadProcessModules(pid_t pid) {
  std::vector<ProcessModule> modules;
  std::ifstream in(fmt::format("/proc/{}/maps", pid));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    if (path.empty() || path[0] != '/' || std::stoull(offset, nullptr, 16) != 0) continue;
    if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) continue;
    const uint64_t start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    bool seen = false;
    for (const ProcessModule& m : modules) seen |= m.path == path;
    if (!seen) modules.push_back({path, fmt::format("/proc/{}/root{}", pid, path), start});
  }
  return modules;
}

std::optional<ProcessModule> FindModule(const std::vector<ProcessModule>& modules, const std::string& prefix) {
  for (const ProcessModule& m : modules) {
    const size_t slash = m.path.rfind('/');
    if (m.path.compare(slash + 1, prefix.size(), prefix) == 0) return m;
  }
  return std::nullopt;
}

std::optional<uint64_t> FunctionAddress(const ProcessModule& module, const std::string& name) {
  const std::optional<ElfImage> image = ReadElfImage(module.disk_path);
  if (!image || !image->x86_64) return std::nullopt;
  const std::optional<uint64_t> value = DynamicSymbol(module.disk_path, name);
  if (!value) return std::nullopt;
  return module.start - image->first_load_vaddr + *value;
}

}  // namespace leaktrace::cli::attach
