// The signal hooks' state that outlives a call (hooks_signal.cc).
#pragma once

namespace leaktrace::preload {

// Fork child, after DumperChildAfterFork: counts the forking thread's block
// of the snapshot signal, if it holds one, in the child's count of threads
// holding it (ProgramHoldsSnapshotSignalBlocked). Child only; no system call.
void SignalHooksChildAfterFork();

// A thread of the program ends (its start routine returned, pthread_exit,
// cancellation): a block of the snapshot signal it held ends with it, and
// leaves the count. Held on, it made every later `kill -USR2` the program's
// (HandedBackToProgram): SIGUSR2's default action then ended a program that
// no thread of which blocked it any more. On the ending thread; no system
// call, must not allocate.
void SignalHooksThreadEnds();

}  // namespace leaktrace::preload
