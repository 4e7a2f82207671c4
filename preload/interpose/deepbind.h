// RTLD_DEEPBIND libraries look up symbols in their own dependencies first, so
// their malloc and free would bypass leaktrace and meet blocks that carry its
// headers: a crash. After such a dlopen, leaktrace rewrites the library's
// import slots (GOT) for every function it hooks to point at its hooks, the
// way the global lookup would have bound them.
#pragma once

extern "C" {
// The real dlopen, resolved at start-up; read by dlopen_entry.S.
extern void* (*leaktrace_real_dlopen)(const char*, int);
// Called by dlopen_entry.S for RTLD_DEEPBIND (and before the real dlopen is known).
void* leaktrace_dlopen_deepbind(const char* file, int mode);
}

namespace leaktrace::preload {

// Resolves the real dlopen. Constructor; the thread busy.
void ResolveRealDlopen();

}  // namespace leaktrace::preload
