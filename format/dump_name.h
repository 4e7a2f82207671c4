// Dump file names, defined once for both sides: the library names its files,
// the tools find and parse them (docs/dump-format.md).
//   <program>.<pid>.<seq>.dump        a complete dump
//   .<program>.<pid>.<seq>.dump.tmp   one being written where no unnamed file can be (never a dump to readers)
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "format/decimal.h"

namespace leaktrace::format {

// DIR/<program>.<pid>.<seq>.dump, or its temporary twin; the length
// snprintf would return. Must not allocate: the preload library calls it.
// Formatted by hand, as snprintf("%s/%s.%u.%u.dump") would (cut off to fit
// `size`, NUL-terminated): a short process's exit dump is the first caller
// of printf-style formatting in it, whose code would cost three page faults.
inline int FormatDumpPath(char* out, size_t size, const char* dir, const char* program, uint32_t pid, uint32_t seq,
                          bool temporary) {
  size_t n = 0;  // the length of the whole path, written or not
  auto put = [&](char c) {
    if (n + 1 < size) out[n] = c;
    ++n;
  };
  auto text = [&](const char* s) {
    while (*s != '\0') put(*s++);
  };
  auto number = [&](uint32_t v) {
    char digits[20];
    const size_t d = DecimalDigits(v, digits);
    for (size_t i = 0; i < d; ++i) put(digits[i]);
  };
  text(dir);
  text(temporary ? "/." : "/");
  text(program);
  put('.');
  number(pid);
  put('.');
  number(seq);
  text(temporary ? ".dump.tmp" : ".dump");
  if (size > 0) out[n < size ? n : size - 1] = '\0';
  return static_cast<int>(n);
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
