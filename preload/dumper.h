// The dumper thread: the only place snapshots are taken while the program
// runs. The snapshot signal's handler just wakes it; it also wakes itself
// every LEAKTRACE_INTERVAL seconds.
#pragma once

namespace leaktrace::preload {

// Installs the signal handler and starts the thread. Constructor only (and a
// fork child).
void StartDumper();
// Async-signal-safe: asks the dumper thread for a snapshot.
void RequestSnapshot();
// Stops taking periodic/signal snapshots (process exit).
void StopDumper();
// Fork child: the thread is gone; start a new one.
void DumperChildAfterFork();

}  // namespace leaktrace::preload
