// Descriptors the process has open that no hook saw made: io_uring's
// (liburing's accept and openat complete in the kernel, its system calls
// are its own), raw system calls, the C library's internal ones. A leak of
// those grew /proc/PID/fd while every dump read "fd 0" and `leaktrace
// check --max-fds 0` passed.
//
// So each snapshot looks at /proc/self/fd. The first look only learns what
// is open then, taken as inherited (0, 1, 2, a supervisor's socket, or made
// unseen before it: the dump cannot tell those apart) and counted nowhere
// (fd_table.h, kInheritedFdStack). Every later look books a descriptor it
// finds open and unrecorded at a stack with no frame, labelled "not seen
// made: KIND" (the kind probed from the descriptor), as an ordinary fd
// site: a diff shows its growth, check counts it, its close forgets it. A
// process's exit dump, when it is its first snapshot, makes no look (it
// would only learn).
#pragma once

namespace leaktrace::preload {

// Dump lock held (one look at a time), not busy-sensitive; raw system
// calls and leaktrace's own memory. `learn_only`: the look would be the
// first and learns nothing a dump shows (the exit dump of a process never
// snapshot before): none is made.
void LookForUnseenFds(bool learn_only);

// Descriptors booked as made unseen, since the start (health).
unsigned long UnseenFdsBooked();

}  // namespace leaktrace::preload
