// What the thread a signal interrupted was doing, read from the handler's
// context: whether it waits in a call the kernel restarts after the handler
// (SA_RESTART) and that no allocator makes while holding its locks.
#pragma once

namespace leaktrace::preload {

// True when `ucontext` (a signal handler's third argument) shows the
// interrupted thread at a system call instruction, about to make or to
// restart one of the waits for input or for a child
// (format/restarted_calls.h: read, accept, wait4 and their kin). No
// allocator makes those with its locks held (glibc's malloc maps, unmaps
// and waits on its own locks, nothing else), and neither does the loader
// outside dlopen's reading of a library, so such a thread holds no lock
// that starting a thread needs. x86-64 only (false elsewhere).
// Async-signal-safe.
bool InterruptedInARestartedWait(const void* ucontext);

}  // namespace leaktrace::preload
