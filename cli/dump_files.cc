#include "cli/dump_files.h"

#include <algorithm>
#include <tuple>

#include <dirent.h>
#include <sys/stat.h>

namespace leaktrace::cli {

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
