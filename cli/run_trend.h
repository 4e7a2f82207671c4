// What `leaktrace run --interval S` prints after the program exits: the trend
// of each process's series of snapshots (the judgment of `leaktrace trend`).
#pragma once

#include <sys/types.h>

#include <vector>

#include "cli/dump_files.h"

namespace leaktrace::cli {

// Groups `dumps` (those written during the run) per process, by the
// <program>.<pid> of their names, and prints on stderr, after the program's
// own output:
//  - for every process with three or more snapshots, its trend as `leaktrace
//    trend` shows it (the started program first, then the others by pid);
//  - if no process had three, one line saying so (nothing when `dumps` is
//    empty: `run` says that itself), and why when the program ran long
//    enough for three (`ran_seconds`, of `interval_seconds` each): a
//    process's interval timer is leaktrace's thread, which never started
//    in a program of one thread that neither waited nor made a tracked
//    event after its first 100 ms;
//  - if some had three and others not, one line counting the others.
// Never throws: a dump that cannot be read or a series that does not hold
// together becomes a warning line, so `run` keeps the program's exit status.
void PrintRunTrends(const std::vector<DumpFile>& dumps, pid_t started, long interval_seconds, double ran_seconds);

}  // namespace leaktrace::cli
