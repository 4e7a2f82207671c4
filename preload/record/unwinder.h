// Captures the calling stack with libunwind's unw_backtrace (DWARF unwinding,
// so code built without frame pointers works), minus leaktrace's own frames.
#pragma once

#include <cstdint>

namespace leaktrace::preload {

inline constexpr uint32_t kMaxUserFrames = 64;

struct CapturedStack {
  uint64_t pcs[kMaxUserFrames];  // return addresses, innermost first
  uint32_t depth;
  bool truncated;  // the stack was deeper than kMaxUserFrames
};

// Learns leaktrace's own address range and keeps libunwind's descriptors
// private (RedirectUnwinderDescriptors). Called once at initialisation,
// before the first unwind.
void InitUnwinder();

// Points the import slots of the module holding `unwinder_function`
// (libunwind) for open, close, pipe2, read, write and syscall at wrappers
// that keep its descriptors private and out of the program's (unwinder_fds.cc).
// Returns false when the module is not found. Not for the malloc path.
bool RedirectUnwinderDescriptors(const void* unwinder_function);

// True for an address inside libleaktrace.so or libunwind (our own frames).
bool IsLeaktraceFrame(uintptr_t pc);

// Must be called with the thread busy (libunwind may allocate on first use).
void CaptureStack(CapturedStack& out);

}  // namespace leaktrace::preload
