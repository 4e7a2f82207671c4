// Facts about the process, gathered once at start-up (and again in a fork
// child) so a dump never has to ask for them in a hurry; all but the
// executable's path, which only dumps need: it is read at the first dump
// or module record (ExePath), so that a process that writes none (one that
// execs, one that exits without an exit dump) never reads /proc.
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
  // What start-up writes comes next, on the fork state's page with the head
  // (a page written for the first time is a page fault): the short fields,
  // then the arguments (most command lines are far shorter than a page).
  char program[256] = {};   // base name of argv[0], else of the executable
  size_t cmdline_size = 0;
  int64_t start_realtime_ns = 0;
  int64_t start_monotonic_ns = 0;
  char cmdline[4096] = {};  // NUL-separated, possibly cut short
  char exe_path[4096] = {};  // read through ExePath() only, by the first dump
};

extern LT_HIDDEN ProcessFacts g_process;

// Fills g_process. No malloc; raw syscalls only. `argv` (argc strings): the
// program's arguments, as the constructor of a preloaded library receives
// them (the same bytes /proc/self/cmdline holds at that point, without
// opening it); nullptr when attached to a running process, which may have
// written a process title over them: then /proc/self/cmdline is read.
void GatherProcessFacts(int argc, char** argv);
// The executable's path (/proc/self/exe), read at the first call: the one
// system call that makes the kernel set up the process's /proc directory,
// which a process that writes no dump never pays for. Any thread, not from a
// thread that may have been interrupted inside it (callers are busy: a
// dump, a module record); no malloc. "" when it cannot be read.
const char* ExePath();
// Before the process moves its root (chroot, or a mount namespace entered or
// made): reads the executable's path now if it was not read yet, since the
// new root may have no /proc (a jail), and a dump would then name no file
// for the program's own frames. Any thread, not busy; errno kept.
void ReadExePathBeforeRootMoves();
// After fork, in the child: its own pid, and the forking process's as its
// parent (no getppid: the parent is the process g_process described);
// start time unchanged; an executable's path another thread of the parent
// was reading at the fork is read again.
void RefreshProcessIds();

// A fork child that has not exec'd (see forked_monotonic_ns).
inline bool IsForkChild() { return g_process.forked_monotonic_ns != 0; }

int64_t RealtimeNs();
int64_t MonotonicNs();

}  // namespace leaktrace::preload
