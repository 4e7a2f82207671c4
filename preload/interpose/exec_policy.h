// LEAKTRACE_FOLLOW_EXEC=0: programs this process execs run without leaktrace.
#pragma once

namespace leaktrace::preload {

// Removes libleaktrace.so from this process's LD_PRELOAD (the rest stays), so
// exec'd programs do not inherit it. Constructor only, thread busy.
void StopFollowingExec();

// After the process changed its root (chroot): when an LD_PRELOAD entry
// naming libleaktrace is a path the new root does not hold, removes the
// library from LD_PRELOAD as StopFollowingExec does. A program exec'd in
// there could not load it, and the loader would say so on that program's
// stderr ("ERROR: ld.so: object ... cannot be preloaded"), a line it never
// prints without leaktrace. A program the process execs with an
// environment of its own making still gets it. Any thread, not allocating;
// a process changes its root before it starts threads.
void StopFollowingExecOutOfReach();

// LEAKTRACE_VERBOSE=first: makes it LEAKTRACE_VERBOSE=0 in this process's
// environment, so that the programs it execs say nothing (config.h).
// Constructor only.
void QuietenWhatThisProcessRuns();

// Exposed for tests: `preload` without entries naming libleaktrace, written
// to `out` (size `out_size`). Entries are separated by spaces or colons.
void PreloadWithoutLeaktrace(const char* preload, char* out, unsigned long out_size);

}  // namespace leaktrace::preload
