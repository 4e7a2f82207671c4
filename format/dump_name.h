// Dump file names, defined once for both sides: the library names its files,
// the tools find and parse them (docs/dump-format.md).
//   <program>.<pid>.<seq>.dump        a complete dump
//   .<program>.<pid>.<seq>.dump.tmp   one being written (never a dump to readers)
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace leaktrace::format {

// DIR/<program>.<pid>.<seq>.dump, or its temporary twin; snprintf's result.
// Must not allocate: the preload library calls it.
inline int FormatDumpPath(char* out, size_t size, const char* dir, const char* program, uint32_t pid, uint32_t seq,
                          bool temporary) {
  return temporary ? snprintf(out, size, "%s/.%s.%u.%u.dump.tmp", dir, program, pid, seq)
                   : snprintf(out, size, "%s/%s.%u.%u.dump", dir, program, pid, seq);
}

struct DumpName {
  std::string program;  // may itself contain dots
  uint32_t pid = 0;
  uint32_t seq = 0;
};

// nullopt for names that are not dumps (temporaries included). Tools only.
std::optional<DumpName> ParseDumpName(std::string_view filename);

// The temporary twin of a dump's path (same directory). Tools only.
std::string TemporaryDumpPath(std::string_view final_path);

}  // namespace leaktrace::format
