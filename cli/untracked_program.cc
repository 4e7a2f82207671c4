#include "cli/untracked_program.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace leaktrace::cli {
namespace {

// The file posix_spawnp would run for `command`, or "" when none is found.
std::string Resolve(const std::string& command) {
  if (command.find('/') != std::string::npos) return command;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/bin:/usr/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    // An empty entry is the working directory.
    const std::string candidate = (end > start ? dirs.substr(start, end - start) : std::string(".")) + "/" + command;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return "";
}

// Whether the 64-bit ELF file open on `fd` asks for a program interpreter
// (PT_INTERP): a dynamically linked program or a PIE. -1: unreadable.
int HasInterpreter(int fd, const Elf64_Ehdr& header) {
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 || header.e_phnum > 512) return -1;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof ph, static_cast<off_t>(header.e_phoff + i * sizeof ph)) != sizeof ph) return -1;
    if (ph.p_type == PT_INTERP) return 1;
  }
  return 0;
}

}  // namespace

std::optional<std::string> WhyUntracked(const std::string& command) {
  const std::string path = Resolve(command);
  if (path.empty()) return std::nullopt;
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  // On a file system mounted nosuid the bits and capabilities do nothing.
  struct statvfs fs;
  if (statvfs(path.c_str(), &fs) != 0 || (fs.f_flag & ST_NOSUID) == 0) {
    if ((st.st_mode & S_ISUID) && st.st_uid != getuid())
      return fmt::format("{} is set-user-ID: the loader ignores LD_PRELOAD for it (secure execution)", path);
    if ((st.st_mode & S_ISGID) && st.st_gid != getgid())
      return fmt::format("{} is set-group-ID: the loader ignores LD_PRELOAD for it (secure execution)", path);
    if (getuid() != 0 && getxattr(path.c_str(), "security.capability", nullptr, 0) > 0)
      return fmt::format("{} has file capabilities: the loader ignores LD_PRELOAD for it (secure execution)", path);
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  Elf64_Ehdr header;
  const bool elf = pread(fd, &header, sizeof header, 0) == sizeof header && memcmp(header.e_ident, ELFMAG, SELFMAG) == 0;
  std::optional<std::string> why;
  if (elf && header.e_ident[EI_CLASS] == ELFCLASS32) {
    why = fmt::format("{} is a 32-bit program: the 64-bit library cannot be loaded into it (the loader says so on "
                      "its stderr)", path);
  } else if (elf && header.e_ident[EI_CLASS] == ELFCLASS64 && header.e_type == ET_EXEC &&
             HasInterpreter(fd, header) == 0) {
    why = fmt::format("{} is statically linked: no loader reads LD_PRELOAD for it", path);
  }
  close(fd);
  return why;
}

}  // namespace leaktrace::cli
