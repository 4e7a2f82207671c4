// The stack a snapshot written in the snapshot signal's handler runs on.
//
// A signal handler runs on the stack of the thread it interrupted, and a
// dump written there (snapshot.cc, TryWriteSnapshotFromHandler: before the
// dumper thread starts, on a thread busy in its own code) takes about
// 30 KiB of it: the writer's buffers. A thread made with a small stack
// (pthread_attr_setstacksize, 16 or 32 KiB) or a coroutine on a stack it
// allocated has less room than that left, and the write ran past its end:
// a crash, or the memory below a coroutine's stack overwritten. So that
// write runs on a stack of leaktrace's own, one for the process (the dump
// lock lets one writer at a time use it), and the interrupted stack holds
// only the kernel's signal frame and the handler's few words.
#pragma once

namespace leaktrace::preload {

// Calls fn(arg) on leaktrace's handler stack, mapped at the first call by
// raw system calls, and returns true; false, without calling fn, when the
// stack cannot be mapped. Async-signal-safe; the caller holds the dump
// lock. On other architectures than x86-64, fn runs on the caller's stack.
bool RunOnHandlerStack(void (*fn)(void*), void* arg);

}  // namespace leaktrace::preload
