// Settings read once from the environment (README.md lists them, under "Modes").
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

// The default stack budget: ordinary programs stay far below it (gcc -O2
// of a 10,000-line file: 10,500 stacks in exact mode; a CPython JSON
// service sampled every 32 KiB levelled off at 26,000), while a program
// that allocates from ever-new call paths stops growing the tracker at
// some 40 MB (37 MB mapped, bench/stack_budget.sh).
inline constexpr uint32_t kDefaultMaxStacks = 65536;

struct Config {
  uint64_t sample_interval = 0;  // mean bytes between heap samples; 1 = every allocation
  double sample_per_byte = 0;    // 1 / sample_interval (GrownWeight multiplies by it)
  int snapshot_signal = 0;       // 0: no snapshot signal
  uint32_t interval_seconds = 0; // 0: no periodic snapshots
  // LEAKTRACE_ON_EXIT: 0 no exit dump; 1 (default) an exit dump from every
  // process except a young fork child (lifecycle.cc, WantsExitDump); `all`
  // an exit dump from every process.
  bool dump_on_exit = true;
  bool exit_dump_every_child = false;  // LEAKTRACE_ON_EXIT=all
  bool follow_exec = true;       // programs this one execs inherit LD_PRELOAD
  char dump_dir[4096] = {};      // absolute, no trailing slash
  bool verbose = false;          // LEAKTRACE_VERBOSE=1: one line at start saying what is tracked
  // LEAKTRACE_VERBOSE=first (what `leaktrace run` sets): verbose in this
  // process alone; the programs it runs and its fork children are quiet, as
  // a line on a child's stderr is one a script capturing it would read.
  bool verbose_first_only = false;
  // LEAKTRACE_PROGRAMS: comma-separated globs (`*`, `?`) of the programs to
  // track; empty: every program. Matched against the name the program was
  // started as and its executable's name (ProgramSelected).
  char programs[1024] = {};
  // LEAKTRACE_MAX_STACKS: distinct call stacks recorded whole; later new
  // ones are folded into their innermost frames (record/stack_ids.cc), so
  // the tracker's memory and the dumps stay bounded.
  uint32_t max_stacks = kDefaultMaxStacks;
  bool valid = true;             // false: a setting was malformed; leaktrace stays inert
};

// The default sampling interval (see README: chosen from the benchmark).
inline constexpr uint64_t kDefaultSampleInterval = 512 * 1024;

// Parses the environment, or with `settings` ("KEY=VALUE" lines with the
// environment's names: leaktrace attach) that text instead. Must not allocate
// through malloc (it runs during the first allocation of the process);
// reports bad settings on stderr itself. Not thread-safe (initialisation only).
void LoadConfig(Config& config, const char* settings = nullptr);

// True when `config.programs` is empty or one of its globs matches
// `argv0_name` or `exe_name` (base names; either may be empty). Must not
// allocate.
bool ProgramSelected(const Config& config, const char* argv0_name, const char* exe_name);
// Shell-style match of `name` against `glob` (`*`, `?`, everything else
// literal). Exposed for tests.
bool GlobMatch(const char* glob, size_t glob_size, const char* name);

// Parses "SIGUSR2", "USR2", "SIGRTMIN+3", "12", "0". Returns -1 when invalid.
// Exposed for tests.
int ParseSignal(const char* text);
// Parses "4096", "512k", "1m", "2g"; returns 0 when invalid. Exposed for tests.
uint64_t ParseSize(const char* text);

}  // namespace leaktrace::preload
