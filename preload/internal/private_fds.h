// Descriptors that belong to leaktrace, or to a library it loads (libunwind's
// memory-validation pipe and the ELF files it reads), kept out of the
// program's way.
//
// A program may close every descriptor it did not open (closefrom(3), a
// close loop at daemon start-up), dup2 onto any number it likes (a shell's
// `exec 3<file`), and count on getting the lowest free number. Had one of
// ours sat on a low number, the program would close it and reuse the number,
// and we would then read, write or close the program's descriptor. So every
// private descriptor
//  - is parked at a high number (F_DUPFD_CLOEXEC from PrivateFdBase()), far
//    from the numbers the kernel hands the program, and is close-on-exec;
//  - is registered here, so that the close, close_range and closefrom hooks
//    skip it (close of it fails with EBADF, as for any number the program
//    never opened);
//  - when the program dup2s or dup3s onto its number, is moved to another
//    high number first when its user reads the number from a `home` cell, or
//    let go when a foreign library keeps the number (libunwind, which then
//    finds its pipe gone and makes a new one: unwinder_fds.cc).
//
// Every function here uses raw system calls only: async-signal-safe, must not
// allocate, safe on any thread, and never recorded as the program's.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <climits>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

inline constexpr int kMaxPrivateFds = 16;

namespace detail {
// The lowest number ever registered (INT_MAX while none is): a descriptor
// below it is never private, which keeps the close hook's test to one load.
extern LT_HIDDEN std::atomic<int> g_lowest_private_fd;
bool IsRegisteredPrivateFd(int fd);
}  // namespace detail

// True when `fd` is one of leaktrace's (or libunwind's) descriptors.
inline bool IsPrivateFd(int fd) {
  if (__builtin_expect(fd < detail::g_lowest_private_fd.load(std::memory_order_relaxed), 1)) return false;
  return detail::IsRegisteredPrivateFd(fd);
}

// The first number private descriptors are parked at: 32 below the soft
// RLIMIT_NOFILE (a quarter of it below 128), and never above 992 (a larger
// number would make the kernel grow the descriptor table that every fork
// copies). 0 when the limit is too small (under 11) to park anything. The
// limit is read once (a system call saved at every descriptor parked) and
// again when a parking finds it lowered below the base; a limit raised
// later keeps the base it had.
int PrivateFdBase();

// True when the soft RLIMIT_NOFILE (as PrivateFdBase last read it) is below
// 64: a limit a program or its caller chose, where every number may be one
// the program counts on. No descriptor leaktrace would keep open between
// its own calls is then made: not the control block (`prlimit --nofile=4
// cat FILE` failed with EMFILE, the control memfd holding the one number
// left), not the spare (KeepSpareFd). libunwind's validation pipe is still
// made when first needed (refused, an unwind stops short and the dumper
// thread would not start: MayBeInASignalHandler). Dumps still open their
// files for the time of the dump.
bool DescriptorLimitIsTight();

// Brackets the making of a descriptor of ours, from the system call that
// makes it (at the lowest free number, where the program's own would be) to
// its adoption (AdoptPrivateFd, which moves it high). Every maker of a
// private descriptor holds one. A listing of the process's descriptors
// that must tell the program's from ours (attach.cc, what was open before
// the attach) takes its listing while no making is in progress and none
// began meanwhile (PrivateFdMakingsSettled), so that one of ours, still at
// its low number on another thread, is never taken for the program's.
class PrivateFdMaking {
 public:
  PrivateFdMaking();
  ~PrivateFdMaking();
  PrivateFdMaking(const PrivateFdMaking&) = delete;
  PrivateFdMaking& operator=(const PrivateFdMaking&) = delete;
};

// How many makings began so far, when none is in progress now; -1 while
// one is. A listing is clean when this gave the same number >= 0 before and
// after it.
long PrivateFdMakingsSettled();

// Takes `fd` (just made by leaktrace or libunwind): moves it to a high number,
// closes the original and registers the result. Returns the number to use
// from now on: `fd` itself when it could not be moved (still registered), -1
// (and `fd` closed) when the registry is full. `home`, when not null, is
// where the user keeps the number: it is set now and updated if the
// descriptor must move later (a dup2 onto it). nullptr: the number belongs to
// code we cannot update, so a dup2 onto it makes us let it go.
int AdoptPrivateFd(int fd, std::atomic<int>* home);

// AdoptPrivateFd for a descriptor leaktrace would keep open between its own
// calls (the control block, the spare): closed again, and -1 with EMFILE,
// when the limit is tight (DescriptorLimitIsTight) as the adoption read it,
// which may be lower than at start-up (a program that lowered its own).
int KeepPrivateFd(int fd, std::atomic<int>* home);

// When one of our opens (OpenPrivateFd) finds the process out of
// descriptors (EMFILE), descriptors of ours that can be done without make
// way and the open is tried once more: the spare (KeepSpareFd), and what
// `relieve` closes; it returns true when it freed one (libunwind's pipe,
// which libunwind makes again at its next use: unwinder.h). A program that leaks descriptors
// until it has none left is the one whose dumps matter most. Set once, at
// initialisation; `relieve` must be async-signal-safe.
void SetOutOfDescriptorsRelief(bool (*relieve)());

// Makes the spare descriptor unless there is one: a descriptor of no use
// but to be closed when one of our opens finds the process out of
// descriptors (before the relief above is asked), so that a process that
// leaked every descriptor it may have still writes its dump. An eventfd
// (it pins no file, no pipe buffers), parked high like the others, and
// moved, not let go, should the program dup2 onto it. Three system calls,
// once; a fork child keeps its parent's. False when it could not be made
// (or the process is in a sandbox, or under a tight limit).
bool KeepSpareFd();

// The program is entering a seccomp sandbox (hooks_sandbox.cc), whose
// filter may kill it for a call it does not list: from now on, and in fork
// children too, KeepSpareFd makes nothing (no dump is written there) and
// SandboxEntered is true (libunwind's pipe is then refused:
// unwinder_fds.cc). Any thread; one store.
void NoteSandboxEntered();
bool SandboxEntered();

// open(2) through raw system calls, O_CLOEXEC added, then AdoptPrivateFd.
int OpenPrivateFd(const char* path, int flags, mode_t mode, std::atomic<int>* home);

// Unregisters and closes a private descriptor. Returns close's result.
int ClosePrivateFd(int fd);

// Before the program's dup2/dup3 onto `target`: if `target` is private, moves
// it away (a `home` descriptor) or lets it go (a foreign one), so the
// program's call takes the number without our file behind it.
void YieldPrivateFd(int target);

// Calls `fn(first, last, ctx)` for every maximal sub-range of [first, last]
// that holds no private descriptor, in ascending order; `last` may be
// UINT_MAX. Returns the first non-zero result of `fn` (errno as `fn` left
// it), else 0. For the close_range and closefrom hooks.
int ForEachPublicRange(unsigned first, unsigned last, int (*fn)(unsigned, unsigned, void*), void* ctx);

}  // namespace leaktrace::preload
