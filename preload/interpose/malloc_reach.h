// Whether the program's malloc reaches this library's hooks.
#pragma once

namespace leaktrace::preload {

// An allocator preloaded in front of this library
// (LD_PRELOAD=libjemalloc.so.2:libleaktrace.so) takes every malloc call and
// never passes it on: the heap hooks never run, and every dump would read
// 0 B of heap as if measured. An interposer in front that forwards
// (dlsym(RTLD_NEXT, "malloc"), libfaketime, a test shim) is fine. So this
// allocates one block through the program's own malloc and sees whether it
// came through the hooks; if not, it says so on stderr whatever
// LEAKTRACE_VERBOSE is (also when malloc is this library's and the call
// still went elsewhere: valgrind redirects it; sampled mode only, as in
// exact mode that block would cost a stack capture at every start).
// Preload only (attach.cc rewrites the program's imports instead). Call when tracking has started, outside BusyScope
// (a busy thread's calls bypass the hooks' records).
void SayIfMallocDoesNotReachTheHooks();

}  // namespace leaktrace::preload
