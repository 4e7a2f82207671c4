// The recording half of the descriptor, stdio and mapping hooks
// (hooks_fd.cc, hooks_stdio.cc, hooks_mmap.cc): deciding whether a call is
// the program's, capturing its stack, and updating fd_table / mapping_table.
// Out of line so each hook reads as "forward, then record".
//
// Every function here preserves errno: the program sees exactly what the
// real call left.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

#include <unistd.h>

#include "preload/internal/compiler.h"
#include "preload/snapshot/process_info.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"

#define LT_HIDDEN_SYMBOL __attribute__((visibility("hidden")))

// Raised by vfork (this thread) and by clone with CLONE_VM but not
// CLONE_THREAD (the process, for good); see interpose/vfork_entry.S. The
// last also when such a clone had CLONE_FILES.
extern "C" LT_HIDDEN_SYMBOL __thread unsigned char leaktrace_vfork_pending LT_INITIAL_EXEC;
extern "C" LT_HIDDEN_SYMBOL unsigned char leaktrace_shared_vm_child;
extern "C" LT_HIDDEN_SYMBOL unsigned char leaktrace_shared_files_child;

namespace leaktrace::preload {

// True when this call is the program's and leaktrace is tracking: the
// thread is not busy (leaktrace's own calls, the dumper thread, calls made
// from inside another hook), the mode is sampled or exact (descriptors and
// mappings are tracked exactly in both), and this is not a vfork child.
//
// A vfork child (Python's subprocess, for one) shares the parent's memory,
// tables included, and dup2s and closes descriptors before it execs: those
// are its own, not the parent's. It runs on the parent's thread state, so
// only its pid tells it apart. The getpid system call is made only while a
// flag raised by the vfork and clone entries (interpose/vfork_entry.S) says such a
// child may be running on this thread's memory; otherwise a tracked call
// costs no system call here.
LT_NOINLINE bool OutsideSharedMemoryChild();
LT_ALWAYS_INLINE bool TrackingThisCall() {
  if (t_state.busy != 0) return false;
  if (LT_UNLIKELY(g_mode == Mode::kUninitialized)) {
    const int saved = errno;
    EnsureInitialized();
    errno = saved;
  }
  if (g_mode != Mode::kSampled && g_mode != Mode::kExact) return false;
  if (LT_LIKELY((leaktrace_vfork_pending | leaktrace_shared_vm_child) == 0)) return true;
  return OutsideSharedMemoryChild();
}

// False when this call comes from a child that shares our memory but has a
// descriptor table of its own (a vfork child; a clone with CLONE_VM and
// without CLONE_FILES): its dup2 onto the number of one of leaktrace's
// descriptors replaces only its own copy, and must leave leaktrace's
// tables, which are the parent's, alone. Any thread, any mode.
LT_ALWAYS_INLINE bool CallSharesOurDescriptors() {
  if (LT_LIKELY((leaktrace_vfork_pending | leaktrace_shared_vm_child) == 0)) return true;
  if (OutsideSharedMemoryChild()) return true;
  return leaktrace_vfork_pending == 0 && leaktrace_shared_files_child != 0;
}

// Restores errno on scope exit.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }

 private:
  int saved_;
};

// ---- descriptors (call only when TrackingThisCall()) ----------------------

// A descriptor made by a call that knows its label.
void RecordFd(int fd, uint32_t label_id);
// Two descriptors made by one call (pipe, socketpair).
void RecordFdPair(const int fds[2], uint32_t label_id);
// Opened by path. An absolute path gets a guessed kind, checked by fstat
// only if the descriptor is still open at a snapshot (GuessedOpenedLabel;
// `kind_guess` is the caller's guess, e.g. "dir" for opendir, or nullptr).
// A relative one is made absolute now, as the path it names is the one of
// this moment: joined to the working directory (`dirfd` AT_FDCWD) or to
// `dirfd`'s path (RelativeOpenedLabel), then guessed as an absolute one;
// when that cannot be told, resolved by the descriptor (fstat, readlink of
// /proc/self/fd/N).
void RecordOpenedFd(int fd, const char* path, const char* kind_guess = nullptr, int dirfd = AT_FDCWD);
// Before a dup2/dup3 onto `target`: forgets it and returns what its slot
// held, for RestoreFd if the call fails. The number stays open throughout,
// so a snapshot never checks a guessed kind against the copy.
uint64_t TakeFdForReplace(int target);
void RestoreFd(int target, uint64_t taken);
// A copy of `source` (dup, dup2, dup3, fcntl F_DUPFD, accept): same kind.
void RecordFdCopy(int fd, int source);
// A descriptor of unknown kind (SCM_RIGHTS, fdopen of an untracked one).
void RecordProbedFd(int fd);
// Only if `fd` is not recorded yet (fdopen, fdopendir wrap a descriptor
// that usually is: its creator stays its site).
void RecordFdIfUnknown(int fd);
// Every descriptor passed in SCM_RIGHTS control messages of `msg`.
void RecordReceivedFds(const void* msg);
// Before the real close: forget it.
void ForgetFd(int fd);
void ForgetFdRange(unsigned first, unsigned last);

// ---- mappings ------------------------------------------------------------

// True when a mapping call from `caller` (the hook's return address) is the
// program's: TrackingThisCall(), and the caller is neither in the module of
// the real malloc (jemalloc, tcmalloc, mimalloc mapping their own arenas;
// glibc's malloc maps through internal calls that never reach us) nor in
// libleaktrace.so.
bool TrackingMappingFrom(const void* caller);

void RecordMapping(void* addr, size_t length, int flags, int fd);
// Under the table lock, the real munmap / mremap, then the table update.
int UnmapTracked(void* addr, size_t length);
void* RemapTracked(void* old, size_t old_size, size_t new_size, int flags, void* new_address);

}  // namespace leaktrace::preload
