#include "cli/dump_files.h"

#include <algorithm>
#include <tuple>

#include <dirent.h>
#include <sys/stat.h>

namespace leaktrace::cli {

namespace {

std::optional<uint32_t> Number(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace

std::optional<DumpName> ParseDumpName(std::string_view name) {
  constexpr std::string_view kSuffix = ".dump";
  if (name.size() <= kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix) return std::nullopt;
  name.remove_suffix(kSuffix.size());
  // Parse from the right: the program name may contain dots.
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::optional<uint32_t> seq = Number(name.substr(dot + 1));
  name = name.substr(0, dot);
  dot = name.rfind('.');
  if (!seq || dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::optional<uint32_t> pid = Number(name.substr(dot + 1));
  if (!pid) return std::nullopt;
  return DumpName{std::string(name.substr(0, dot)), *pid, *seq};
}

std::vector<DumpFile> ListDumps(const std::string& dir) {
  std::vector<DumpFile> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  while (struct dirent* e = readdir(d)) {
    std::optional<DumpName> name = ParseDumpName(e->d_name);
    if (!name) continue;
    DumpFile f{base + e->d_name, *name, 0};
    struct stat st;
    if (stat(f.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    out.push_back(std::move(f));
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const DumpFile& a, const DumpFile& b) {
    return std::tie(a.name.program, a.name.pid, a.name.seq) < std::tie(b.name.program, b.name.pid, b.name.seq);
  });
  return out;
}

}  // namespace leaktrace::cli
