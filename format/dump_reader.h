// Reads and validates dump files. For the tools only: throws DumpError.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "format/dump.h"

namespace leaktrace::format {

// What went wrong, in one line, already naming the file.
class DumpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a whole dump held in memory. `name` is used in error messages.
// Checks magic, version, checksum, every length and every cross-reference.
Dump ParseDump(const std::vector<uint8_t>& bytes, const std::string& name);

// Reads and parses the file at `path`.
Dump ReadDump(const std::string& path);

}  // namespace leaktrace::format
