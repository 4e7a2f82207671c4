// Captures the calling stack with libunwind's unw_backtrace (DWARF unwinding,
// so code built without frame pointers works), minus leaktrace's own frames.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

inline constexpr uint32_t kMaxUserFrames = 64;

struct CapturedStack {
  uint64_t pcs[kMaxUserFrames];  // return addresses, innermost first
  uint32_t depth;
  bool truncated;  // the stack was deeper than kMaxUserFrames
};

// Learns leaktrace's own address range (libunwind is linked in, so it is
// one range with the rest of the library; its descriptors are kept private
// by unwinder_fds.cc) and sets ReleaseUnwinderPipe as the relief of an open
// that finds no descriptor free. Called once at initialisation, before the
// first unwind. libunwind itself is set up at the first capture
// (PrepareUnwinder).
void InitUnwinder();

// Sets libunwind up (its global caching policy, under its lock) and makes the private
// descriptors' spare (KeepSpareFd) unless that was done. Every use of
// libunwind's unwinding calls it first, inside the capture's fork gate and
// with signals blocked. Thread busy.
void PrepareUnwinder();

// Closes libunwind's memory-validation pipe (two descriptors), if it was
// made: libunwind, finding its pipe gone, makes a new one at its next use
// (unwinder_fds.cc).
// True when a descriptor was freed. InitUnwinder makes it the private
// descriptors' relief when an open of ours finds the process out of
// descriptors (SetOutOfDescriptorsRelief). Async-signal-safe, any thread.
bool ReleaseUnwinderPipe();

// Before the program installs a seccomp filter, which may kill it for a
// process_vm_readv: libunwind's pretended pipe (unwinder_fds.cc) gets a
// real one behind it, made now while every call is allowed, so that its
// checks inside the sandbox are a write and a read of that pipe. Nothing
// under a tight descriptor limit (private_fds.h); the checks then count
// every address as unreadable. Thread busy.
void PrepareUnwinderPipeForSandbox();

// Whether the byte at `addr` can be read, asked as libunwind's checks are
// (process_vm_readv of this process: EFAULT when it cannot). True when it
// cannot be asked (inside the program's sandbox, or process_vm_readv
// refused). Any thread; one system call; never allocates.
bool ByteReadable(const void* addr);

// libunwind's mmap (leaktrace_unwinder_mmap, and its syscall(SYS_mmap)):
// a mapping that asks for no address goes to leaktrace's own zone
// (format/raw_mmap.h), never into a range the program may map again.
// Async-signal-safe; allocates nothing.
void* UnwinderMap(void* addr, size_t length, int prot, int flags, int fd, off_t offset);

// True for an address inside libleaktrace.so, libunwind included (our own
// frames).
bool IsLeaktraceFrame(uintptr_t pc);

// Tells libunwind that [low, high) is the calling thread's stack, mapped
// and readable while the thread lives (a part of the main thread's mapping
// found mapped, never glibc's guess of how deep it may grow; another
// thread's pthread stack without its guard):
// the checks of what it reads there then make no system call (mincore and a
// write through its pipe for each page; deps/unwinder-patches/03). Only
// for bounds known so: a word inside them is read unchecked, and an unwind
// led astray by bad unwind tables would fault on a hole there. Calling
// thread only; async-signal-safe.
void MarkStackReadable(uintptr_t low, uintptr_t high);

// Must be called with the thread busy (libunwind may allocate on first use).
void CaptureStack(CapturedStack& out);

// Whether the calling thread may be running a signal handler: it runs on
// its alternate signal stack, its chain holds a signal frame, or the chain
// could not be followed to its outermost frame within a few hundred frames
// (then nobody can say). What must not start a thread: pthread_create
// allocates, and the handler may have interrupted the allocator (the
// dumper's lazy start, dumper.cc). One walk of libunwind's cursor. Thread
// busy, as CaptureStack.
//
// Not a signal frame older than the fork that made this process, on the
// thread that forked (MarkForkingStack), when it interrupted a wait (a
// system call the signal cut short, EINTR, or one the kernel restarts): a
// program that forks in a signal handler and lets the child live on in it
// (postgres's postmaster starts some of its processes so, its handlers
// taking signals only while it waits) would otherwise never have the
// thread. A thread waiting in a system call holds no lock an allocator
// takes (no allocator's call returns EINTR), and glibc's fork took every
// malloc lock before it forked. A frame above the fork's place on the stack
// may also be a newer one, pushed after the child returned past it: the
// wait is what makes it safe either way.
bool MayBeInASignalHandler();

// In a fork child, from the fork (lifecycle.cc): `stack_mark` is an
// address in the calling frame; every frame above it on this thread's
// stack was there before the fork. Async-signal-safe.
void MarkForkingStack(uintptr_t stack_mark);

// What a trace says of one frame beside its return address (libunwind's
// unw_trace_frame_t, deps/unwinder-patches/01-trace-with-slots.patch).
struct TraceFrame {
  uintptr_t slot;     // where the return address was read from; 0: from a signal context
  uintptr_t fp;       // the frame pointer (RBP) once the frame's caller was reached
  uintptr_t fp_slot;  // where this step read that frame pointer; 0: carried over from below
  uintptr_t flags;    // kTraceLooseSlot, kTraceOtherReads
};
// The slot's place followed from a frame pointer, a realigned stack or a
// guessed frame, not from the stack pointer and the unwind rule alone.
inline constexpr uintptr_t kTraceLooseSlot = 1;
// The step read more than the slot and the frame pointer's save slot.
inline constexpr uintptr_t kTraceOtherReads = 2;

// The calling stack's return addresses, innermost first and our own frames
// included, at most `max`, and what the trace says of each (TraceFrame):
// what the unwind cache remembers of a chain. Costs what CaptureStack costs
// (the fast trace). Returns the number of frames, or -1 when the fast
// trace cannot follow this stack (the caller walks libunwind's cursor
// instead). Thread busy, as CaptureStack.
int TraceWithSlots(uintptr_t* pcs, TraceFrame* frames, int max);

}  // namespace leaktrace::preload
