// Runs of "server" for the reporter's tests: dumps of its program and of
// libleaktrace.so at the load biases two runs got (ASLR), and the symbols of
// that program.
#pragma once

#include <cstdint>

#include "tests/reporter/fake_symbols.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::reporter::testing {

inline constexpr uint64_t kBiasA = 0x555500000000;
inline constexpr uint64_t kBiasB = 0x563200000000;  // another run: ASLR moved everything
inline constexpr uint64_t kLibBias = 0x7f0000000000;

// read_line (inlined) in parse_header at server+0x1000 and +0x1004,
// handle_conn at +0x2000, main at +0x3000, leaktrace's hook at
// libleaktrace.so+0x500.
inline FakeSymbols ServerSymbols() {
  FakeSymbols s;
  s.Add("server", 0x1000, {Fn("read_line", "src/io.h", 12, true), Fn("parse_header", "src/http.c", 120)});
  s.Add("server", 0x1004, {Fn("read_line", "src/io.h", 12, true), Fn("parse_header", "src/http.c", 120)});
  s.Add("server", 0x2000, {Fn("handle_conn", "src/server.c", 88)});
  s.Add("server", 0x3000, {Fn("main", "src/main.c", 10)});
  s.Add("libleaktrace.so", 0x500, {Fn("leaktrace::Hook", "preload/hooks.cc", 40)});
  return s;
}

// An exact dump of server (pid, seq), its program at `bias`.
inline test_support::DumpBuilder ServerRun(uint64_t bias, uint32_t pid = 100, uint32_t seq = 1) {
  test_support::DumpBuilder b("server", pid, seq);
  b.Exact().Module("/usr/bin/server", bias).Module("/usr/lib/leaktrace/libleaktrace.so", kLibBias);
  return b;
}

}  // namespace leaktrace::reporter::testing
