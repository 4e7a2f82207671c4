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

// Learns leaktrace's own address range (libunwind is linked in, so it is
// one range with the rest of the library; its descriptors are kept private
// by unwinder_fds.cc) and sets ReleaseUnwinderPipe as the relief of an open
// that finds no descriptor free. Called once at initialisation, before the
// first unwind.
void InitUnwinder();

// Closes libunwind's memory-validation pipe (two descriptors): libunwind,
// finding its pipe gone, makes a new one at its next use (unwinder_fds.cc).
// True when a descriptor was freed. InitUnwinder makes it the private
// descriptors' relief when an open of ours finds the process out of
// descriptors (SetOutOfDescriptorsRelief). Async-signal-safe, any thread.
bool ReleaseUnwinderPipe();

// True for an address inside libleaktrace.so, libunwind included (our own
// frames).
bool IsLeaktraceFrame(uintptr_t pc);

// Must be called with the thread busy (libunwind may allocate on first use).
void CaptureStack(CapturedStack& out);

}  // namespace leaktrace::preload
