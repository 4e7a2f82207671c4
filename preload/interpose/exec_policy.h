// LEAKTRACE_FOLLOW_EXEC=0: programs this process execs run without leaktrace.
#pragma once

namespace leaktrace::preload {

// Removes libleaktrace.so from this process's LD_PRELOAD (the rest stays), so
// exec'd programs do not inherit it. Constructor only, thread busy.
void StopFollowingExec();

// Exposed for tests: `preload` without entries naming libleaktrace, written
// to `out` (size `out_size`). Entries are separated by spaces or colons.
void PreloadWithoutLeaktrace(const char* preload, char* out, unsigned long out_size);

}  // namespace leaktrace::preload
