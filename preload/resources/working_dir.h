// The working directory's absolute path, for labelling a descriptor opened
// by a path relative to it (fd_kind.h, RelativeOpenedLabel), without a
// getcwd system call at each such open (~0.2 us, half of what leaktrace
// added to an open+close by relative path).
//
// The path is kept as an interned label (label_table.h: insert-only, so a
// reader needs no lock), with a generation in the same atomic word. The
// chdir, fchdir and chroot hooks (interpose/hooks_cwd.cc) and setns
// (interpose/hooks_privileges.cc) mark a change under way before the real
// call and bump the generation after it: a reader, asking after its open
// returned, uses the kept path only when no change is under way and the
// path was kept in the current generation, so the path it gets is the one
// its open was relative to (as getcwd right after the open gave). Nothing
// is kept from the moment a thread unshares its working directory
// (unshare(CLONE_FS)) or a clone makes a process sharing it (or a thread
// with one of its own). Not seen: a change made by a raw system call
// (glibc's own daemon, nftw with FTW_CHDIR and fts make theirs so), or a
// rename of the directory or one above it. So a label built on a kept
// path is checked against the descriptor at a snapshot (fd_kind.h,
// kOnKeptCwd).
#pragma once

#include <cstddef>

// Raised for good by clone (interpose/vfork_entry.S) when the child is a
// process sharing the working directory, or a thread with one of its own,
// and by WorkingDirectoryNeverKept: nothing is kept from then on.
extern "C" __attribute__((visibility("hidden"))) unsigned char leaktrace_cwd_unshared;

namespace leaktrace::preload {

// The working directory's absolute path into buf (NUL-terminated): its
// length, or 0 when it is not known so (removed, outside the root: getcwd
// says "(unreachable)", too long, or not kept while `may_call` is false).
// At most one getcwd system call, none when kept or `may_call` is false (a
// sandbox's filter may not list it). Never allocates through malloc. Any
// thread.
// *unsure says the path may not be the one an open just made was relative
// to: it came from what was kept (a change this file does not see, below,
// may have made it stale), or a change was under way.
size_t WorkingDirectory(char* buf, size_t size, bool may_call, bool* unsure);

// Around a call that may change the working directory or the root:
// WorkingDirectoryChanging() before it, WorkingDirectoryChanged() after it
// (whatever it returned). Async-signal-safe.
void WorkingDirectoryChanging();
void WorkingDirectoryChanged();

// From now on nothing is kept: a thread has a working directory of its own
// (unshare(CLONE_FS)), or another process shares this one's. Async-signal-safe.
void WorkingDirectoryNeverKept();

}  // namespace leaktrace::preload
