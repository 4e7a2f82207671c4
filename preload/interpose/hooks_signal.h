// The signal hooks' state that outlives a call (hooks_signal.cc).
#pragma once

namespace leaktrace::preload {

// Fork child, after DumperChildAfterFork: counts the forking thread's block
// of the snapshot signal, if it holds one, in the child's count of threads
// holding it (ProgramHoldsSnapshotSignalBlocked). Child only; no system call.
void SignalHooksChildAfterFork();

}  // namespace leaktrace::preload
