// The stack a dump written on one of the program's threads runs on: a
// snapshot written in the snapshot signal's handler (snapshot.cc,
// TryWriteSnapshotFromHandler: before the dumper thread starts, on a thread
// busy in its own code), and the exit dump, written on the thread that
// called exit().
//
// The writer takes about 30 KiB of stack: its buffers. A thread made with a
// small stack (pthread_attr_setstacksize, 16 or 32 KiB), a coroutine on a
// stack it allocated, or a main thread under `ulimit -s 32` has less room
// than that left, and the write ran past its end: a crash (a worker thread
// that calls exit(), SIGSEGV), or the memory below a coroutine's stack
// overwritten. So those writes run on a stack of leaktrace's own, one for
// the process (the dump lock lets one writer at a time use it), and the
// program's stack holds only the caller's few frames (and, in a handler,
// the kernel's signal frame).
#pragma once

#include <cstdint>

namespace leaktrace::preload {

// Calls fn(arg) on leaktrace's writer stack, mapped at the first call by
// raw system calls, and returns true; false, without calling fn, when the
// stack cannot be mapped (the caller then writes on its own stack, or not
// at all). Async-signal-safe; the caller holds the dump lock. On other
// architectures than x86-64, fn runs on the caller's stack.
bool RunOnWriterStack(void (*fn)(void*), void* arg);

// Whether the caller runs on the main thread's own stack with at least
// `bytes` below it before the stack's limit (RLIMIT_STACK): the exit dump,
// most often written from main's return, then stays there, and spares the
// writer stack's mapping and first-touch faults (~15 us of an exit dump).
// False on another thread's stack, on a stack the main thread switched to,
// or too close to the limit. Async-signal-safe; no allocation.
bool RoomOnTheMainStack(uintptr_t bytes);

// While fn runs on the writer stack: an address in the frame of
// RunOnWriterStack's caller, on the program thread's own stack (how the
// dump tells which stack mapping is that thread's: process_memory.cc);
// 0 otherwise. Under the dump lock.
uintptr_t WriterCallerFrame();

}  // namespace leaktrace::preload
