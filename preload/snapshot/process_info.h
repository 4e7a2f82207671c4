// Facts about the process, gathered once at start-up (and again in a fork
// child) so a dump never has to ask for them in a hurry.
#pragma once

#include <cstddef>
#include <cstdint>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

struct ProcessFacts {
  int pid = 0;
  int ppid = 0;
  // CLOCK_MONOTONIC at the fork in a fork child of the process that started
  // the library (next to pid: the fork handler writes both, one page); 0
  // in the process that started it, and again after an exec.
  int64_t forked_monotonic_ns = 0;
  char exe_path[4096] = {};
  char program[256] = {};   // base name of exe_path
  char cmdline[4096] = {};  // NUL-separated, possibly cut short
  size_t cmdline_size = 0;
  int64_t start_realtime_ns = 0;
  int64_t start_monotonic_ns = 0;
};

extern LT_HIDDEN ProcessFacts g_process;

// Fills g_process. No malloc; raw syscalls only.
void GatherProcessFacts();
// After fork, in the child: its own pid, and the forking process's as its
// parent (no getppid: the parent is the process g_process described);
// start time unchanged.
void RefreshProcessIds();

// A fork child that has not exec'd (see forked_monotonic_ns).
inline bool IsForkChild() { return g_process.forked_monotonic_ns != 0; }

int64_t RealtimeNs();
int64_t MonotonicNs();

}  // namespace leaktrace::preload
