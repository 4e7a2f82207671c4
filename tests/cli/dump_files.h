// Writes small real dump files (through the real DumpWriter) for CLI tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/dump_layout.h"

namespace leaktrace::cli_test {

struct SiteSpec {
  format::Resource resource = format::Resource::kHeap;
  uint64_t offset = 0x1000;  // the one pc of the site's stack, relative to the module
  double bytes = 0;
  double count = 0;
  double var_bytes = 0;
  std::string label = {};
};

struct DumpSpec {
  std::string program = "server";
  uint32_t pid = 100;
  uint32_t seq = 1;
  bool exact = true;
  uint64_t bias = 0x555500000000;
  std::string module = "/nonexistent/leaktrace-test/server";
  std::vector<SiteSpec> sites;
};

// Writes `spec` to `path`; returns false on failure.
bool WriteDump(const std::string& path, const DumpSpec& spec);

}  // namespace leaktrace::cli_test
