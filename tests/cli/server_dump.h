// The dumps the command-line tests read: the program "server" (pid, seq) in
// exact mode, its main module at `bias` from a path no file backs, so no
// frame gets a symbol and each offset stays its own function.
#pragma once

#include <cstdint>

#include "tests/support/dump_builder.h"

namespace leaktrace::cli_test {

inline constexpr char kServerModule[] = "/nonexistent/leaktrace-test/server";

inline test_support::DumpBuilder ServerDump(uint32_t pid = 100, uint32_t seq = 1, uint64_t bias = 0x555500000000) {
  test_support::DumpBuilder b("server", pid, seq);
  b.Exact().MainProgram(kServerModule, bias, "\xde\xad\xbe\xef");
  return b;
}

}  // namespace leaktrace::cli_test
