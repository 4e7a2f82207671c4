// Process start, fork and exit (lifecycle.cc).
#pragma once

namespace leaktrace::preload {

// Everything the library sets up once the tracker is initialised and its
// mode is sampled or exact: process facts, the allocator's own API, the
// control block, fork handlers, the dumper thread. Run by the constructor of
// a preloaded library, and by leaktrace_attach (attach.cc) in a running
// process. Once per process; the thread not busy.
void StartTracking();

}  // namespace leaktrace::preload
