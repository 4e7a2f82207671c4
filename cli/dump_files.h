// Dump file names: <program>.<pid>.<seq>.dump (CONTRACT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leaktrace::cli {

struct DumpName {
  std::string program;  // may itself contain dots
  uint32_t pid = 0;
  uint32_t seq = 0;
};

// nullopt for names that are not dumps (including the writer's temporaries).
std::optional<DumpName> ParseDumpName(std::string_view filename);

struct DumpFile {
  std::string path;  // dir + "/" + name
  DumpName name;
  int64_t mtime_ns = 0;
};

// The dumps in `dir` (not recursive), sorted by program, pid, seq. An
// unreadable directory gives an empty list.
std::vector<DumpFile> ListDumps(const std::string& dir);

}  // namespace leaktrace::cli
