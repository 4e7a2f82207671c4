// The one stderr line that says snapshots moved off a signal the program took
// for itself (dumper.cc: a handler of its own, signalfd/sigwait, a kill while
// it held the signal blocked).
//
// Said once per process group and program, not once per process: a script
// running five tmux commands, each of which installs its own SIGUSR2
// handler, says it once. The first process of its group (getpgrp: a command
// line and everything it starts, unless a daemon makes its own group) to
// move a given program's snapshots from signal `from` to signal `to` says it
// and leaves a marker,
//   /tmp/.leaktrace-<euid>-pgrp<pgid>-<program>-signal<from>-<to>
// (a symbolic link to the pid that said it: made in one system call, with no
// descriptor; not in the dump directory, which holds dumps alone); a
// process that finds the marker says nothing, its control block naming its
// signal all the same (`leaktrace snapshot PID`).
// With LEAKTRACE_VERBOSE=1 (`leaktrace run`), where every process already
// said its snapshot signal at start, every process says it. A fork child
// never says it: its stderr is its parent's.
#pragma once

namespace leaktrace::preload {

// `why`: how the program took signal `from`, e.g. "its own handler". `to`:
// the signal snapshots moved to (0: none, snapshots by signal are off). Async-signal-safe, must not allocate, opens no
// descriptor; for any thread (the caller may hold g_signal_lock).
void SaySnapshotSignalMoved(const char* why, int from, int to);

}  // namespace leaktrace::preload
