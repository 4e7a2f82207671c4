// Whether the program's malloc reaches this library's hooks.
#pragma once

#include <cstdint>

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
// exact mode that block would cost a stack capture at every start). A
// program that defines malloc itself (chromium, every one of its processes)
// can do nothing about it: that line is LEAKTRACE_VERBOSE's only, and the
// reports say it from the dumps (the health counter heap_not_tracked,
// g_health.heap_not_tracked: a HeapNotTracked).
// Preload only (attach.cc rewrites the program's imports instead). Call when tracking has started, outside BusyScope
// (a busy thread's calls bypass the hooks' records).
void SayIfMallocDoesNotReachTheHooks();

// Why the heap hooks never run in this process, as SayIfMallocDoesNotReachTheHooks
// found it: the dump's health counter heap_not_tracked (docs/dump-format.md).
enum class HeapNotTracked : uint64_t {
  kTracked = 0,        // or not checked
  kAllocatorAhead = 1,  // an allocator in front of this library in LD_PRELOAD
  kProgramsOwn = 2,     // the executable defines malloc
  kRedirected = 3,      // a tool replaces malloc (valgrind)
};

}  // namespace leaktrace::preload
