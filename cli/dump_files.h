// The dumps in a directory. Their names are defined in format/dump_name.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/dump_name.h"

namespace leaktrace::cli {

using format::DumpName;
using format::ParseDumpName;

struct DumpFile {
  std::string path;  // dir + "/" + name
  DumpName name;
  int64_t mtime_ns = 0;
};

// The dumps in `dir` (not recursive), sorted by program, pid, seq. An
// unreadable directory gives an empty list.
std::vector<DumpFile> ListDumps(const std::string& dir);

}  // namespace leaktrace::cli
