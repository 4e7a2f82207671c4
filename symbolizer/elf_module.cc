#include "symbolizer/elf_module.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "symbolizer/demangle.h"
#include "symbolizer/dwarf_frames.h"

namespace leaktrace::symbolizer {
namespace {

// Null: libdwfl's default search path, ":.debug:/usr/lib/debug", i.e. next to
// the file, in its .debug/ subdirectory, and under /usr/lib/debug (by
// .gnu_debuglink name and by .build-id/xx/yyyy.debug).
char* g_debuginfo_path = nullptr;

// Set by FindDebuginfo when it found no descriptor free to look with (the
// command under `ulimit -n 5`): the files it would have opened were never
// looked at, so a module without debug information found is not one
// without debug information. The command's one thread only.
int g_debuginfo_lookup_errno = 0;

// libdwfl's own search, when a descriptor can be opened at all.
int FindDebuginfo(Dwfl_Module* module, void** user_data, const char* name, Dwarf_Addr base, const char* file_name,
                  const char* debuglink_file, GElf_Word debuglink_crc, char** debuginfo_file_name) {
  const int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (probe < 0 && (errno == EMFILE || errno == ENFILE)) {
    g_debuginfo_lookup_errno = errno;
    return -1;
  }
  if (probe >= 0) close(probe);
  return dwfl_standard_find_debuginfo(module, user_data, name, base, file_name, debuglink_file, debuglink_crc,
                                      debuginfo_file_name);
}

const Dwfl_Callbacks kCallbacks = {
    .find_elf = dwfl_build_id_find_elf,
    // Looks in the file itself, then .gnu_debuglink (CRC-checked), then
    // /usr/lib/debug/.build-id/ (build-id checked), then debuginfod when
    // DEBUGINFOD_URLS is set. Follows .gnu_debugaltlink (dwz) too.
    .find_debuginfo = FindDebuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &g_debuginfo_path,
};

std::string Hex(const unsigned char* bytes, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 15]);
  }
  return out;
}

std::string DwflError() {
  const char* msg = dwfl_errmsg(-1);
  return msg != nullptr ? msg : "unknown libdwfl error";
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool IsPseudoModule(const std::string& path) {
  if (path.size() >= 2 && path.front() == '[' && path.back() == ']') return true;
  return path == "linux-vdso.so.1" || path == "linux-gate.so.1";
}

ElfModule::ElfModule(const std::string& path, const std::string& expected_build_id)
    : path_(path) {
  if (IsPseudoModule(path)) return;
  Open(path, expected_build_id);
}

ElfModule::~ElfModule() {
  if (dwfl_ != nullptr) dwfl_end(dwfl_);
}

void ElfModule::Open(const std::string& path, const std::string& expected_build_id) {
  // stat first: it gives the errno text users expect, and keeps libelf away
  // from FIFOs and devices (a path from a dump may be anything).
  struct stat st;
  if (path.empty()) {
    warning_ = "cannot open a module with an empty path";
    return;
  }
  if (stat(path.c_str(), &st) != 0) {
    warning_ = "cannot open " + path + ": " + std::strerror(errno);
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    warning_ = "cannot open " + path + ": not a regular file";
    return;
  }

  dwfl_ = dwfl_begin(&kCallbacks);
  if (dwfl_ == nullptr) {
    warning_ = "cannot read " + path + ": " + DwflError();
    return;
  }
  dwfl_report_begin(dwfl_);
  module_ = dwfl_report_elf(dwfl_, Basename(path).c_str(), path.c_str(), -1, 0,
                            /*add_p_vaddr=*/true);
  dwfl_report_end(dwfl_, nullptr, nullptr);
  if (module_ == nullptr) {
    warning_ = "cannot read " + path + ": " + DwflError();
    return;
  }

  if (!expected_build_id.empty()) {
    const unsigned char* bits = nullptr;
    GElf_Addr vaddr = 0;
    int n = dwfl_module_build_id(module_, &bits, &vaddr);
    std::string found = n > 0 ? std::string(reinterpret_cast<const char*>(bits), n) : "";
    if (found != expected_build_id) {
      const auto* expected = reinterpret_cast<const unsigned char*>(expected_build_id.data());
      warning_ = path + ": build-id differs from the binary that ran (expected " +
                 Hex(expected, expected_build_id.size()) + ", found " +
                 (found.empty() ? std::string("none") : Hex(bits, found.size())) +
                 "); its frames are shown as module+offset";
      warning_kind_ = ModuleWarning::Kind::kBuildIdMismatch;
      state_ = State::kBuildIdMismatch;
      return;
    }
  }
  state_ = State::kReady;
}

ModuleWarning ElfModule::TakeWarning() {
  ModuleWarning w;
  w.kind = warning_kind_;
  w.module = path_;
  w.message = std::exchange(warning_, std::string());
  return w;
}

const std::vector<Frame>& ElfModule::Lookup(uint64_t addr) {
  auto it = cache_.find(addr);
  if (it != cache_.end()) return it->second;
  std::vector<Frame> frames;
  if (state_ == State::kReady) frames = Resolve(addr);
  return cache_.emplace(addr, std::move(frames)).first->second;
}

std::vector<Frame> ElfModule::Resolve(uint64_t addr) {
  if (!checked_debuginfo_) g_debuginfo_lookup_errno = 0;  // the search below is this module's first
  std::vector<Frame> frames = DwarfFrames(module_, dwarf_index_, addr);

  if (!checked_debuginfo_) {
    // Asked once, after the first lookup made libdwfl search for it.
    checked_debuginfo_ = true;
    Dwarf_Addr bias = 0;
    if (dwfl_module_getdwarf(module_, &bias) != nullptr) {
      // Found.
    } else if (g_debuginfo_lookup_errno != 0) {
      warning_kind_ = ModuleWarning::Kind::kDebugInfoUnread;
      warning_ = path_ + ": cannot look for its debug information (" + std::strerror(g_debuginfo_lookup_errno) +
                 "): function names only, no file:line";
    } else {
      warning_kind_ = ModuleWarning::Kind::kNoDebugInfo;
      warning_ = path_ +
                 ": no debug information (functions from the symbol table, no file/line; "
                 "install its -dbgsym package or build with -g)";
    }
  }

  if (frames.empty() || frames.back().function.empty()) {
    std::string name = SymbolName(addr);
    if (frames.empty() && !name.empty()) frames.emplace_back();
    if (!frames.empty()) frames.back().function = std::move(name);
  }
  return frames;
}

std::string ElfModule::SymbolName(uint64_t addr) {
  if (!symbols_) symbols_.emplace(module_);
  return Demangle(symbols_->NameAt(addr));
}

}  // namespace leaktrace::symbolizer
