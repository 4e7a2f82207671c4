// make_large_dump PATH SITES: writes a real dump (the shared DumpBuilder,
// through the real DumpWriter) with SITES heap sites, each its own one-frame stack at its own
// address, for tests of work that grows with the dump (progress_test.py).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/cli/server_dump.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PATH SITES\n", argv[0]);
    return 2;
  }
  const long sites = std::strtol(argv[2], nullptr, 10);
  // The test module's one segment spans 1 MiB; four bytes per site fit 250,000.
  if (sites <= 0 || sites > 250000) {
    std::fprintf(stderr, "make_large_dump: SITES must be 1..250000\n");
    return 2;
  }
  leaktrace::test_support::DumpBuilder dump = leaktrace::cli_test::ServerDump();
  for (long i = 0; i < sites; ++i)
    dump.SiteAt(leaktrace::format::Resource::kHeap, 0x10 + 4 * static_cast<uint64_t>(i), 64, 1);
  if (!dump.WriteFile(argv[1])) {
    std::fprintf(stderr, "make_large_dump: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
