// What a descriptor is, as a site label: "file:<path>", "dir:<path>",
// "device:<path>", "fifo:<path>", "socket <family>/<type>", "pipe",
// "eventfd", "epoll", "timerfd", "signalfd", "inotify", "memfd", "pty",
// "anon:<name>", "unknown". Each call returns an interned label id
// (label_table.h), never 0: when a label with a path cannot be stored any
// more, the kind alone is used.
//
// Cheap by construction: the hook that made a descriptor usually knows its
// kind (socket() its family and type, pipe() a pipe ...) and asks for that
// label directly; only descriptors of unknown origin (received over a unix
// socket, dup'd from an untracked one) cost an fstat, a getsockopt or a
// readlink of /proc/self/fd/N (so does an open by a relative path that
// RelativeOpenedLabel cannot join). Nothing here allocates or takes a lock but
// the label table's insert lock; errno is not preserved (the hooks do that).
// Inside a seccomp sandbox (SandboxEntered, private_fds.h) nothing here asks
// the kernel: a label it would have asked for is the kind alone ("file",
// "socket", "unknown"), as no snapshot is written there anyway.
#pragma once

#include <cstdint>

namespace leaktrace::preload {

// A fixed kind with no detail: "pipe", "eventfd", "epoll", ...
uint32_t KindLabel(const char* kind);

// A descriptor opened by path (open, openat, creat, fopen, opendir, ...):
// fstat tells file / dir / device / fifo / socket; `path` is the path the
// program gave, used when absolute, else /proc/self/fd/N is read.
uint32_t OpenedPathLabel(int fd, const char* path);

// Set in a label id (ids stay far below it) that is a guess still to be
// checked: "<guessed kind>:<absolute path>" for a descriptor opened by an
// absolute path. The open records it without an fstat (open+close churn
// costs one system call fewer); only a descriptor still open at a snapshot,
// or mapped, is checked, with VerifiedOpenedLabel.
inline constexpr uint32_t kUnverifiedKind = 1u << 31;
// Set, with kUnverifiedKind, in a guess whose path was joined to the
// working directory's path as working_dir.h kept it, which a change it
// does not see may have made stale, or as read while a change was under
// way: its path too is checked at a snapshot (VerifiedOpenedLabel),
// against /proc/self/fd/N.
inline constexpr uint32_t kOnKeptCwd = 1u << 30;
// Both flags: a label id without them is the one LabelText takes.
inline constexpr uint32_t kLabelFlags = kUnverifiedKind | kOnKeptCwd;

// The guessed label of a descriptor opened by the absolute path `path`
// (`kind_guess`, or from the path: "device" under /dev/ but /dev/shm/,
// else "file"), with kUnverifiedKind set. No system call.
uint32_t GuessedOpenedLabel(const char* path, const char* kind_guess);

// The guessed label (as GuessedOpenedLabel) of a descriptor opened by the
// relative path `path` under `dirfd`: the working directory (AT_FDCWD, kept
// by working_dir.h: one getcwd system call, ~0.2 us, after each change of
// it, where /proc/self/fd/N cost ~1.3 us and an fstat), or a directory descriptor whose label holds its absolute path (no
// system call). "./" segments are dropped. 0 when that cannot be told
// without the descriptor itself: a path with a ".." segment (a symbolic
// link's parent is not the lexical one), a working directory removed or
// outside the root, a directory descriptor of unknown path, a result
// longer than 4 KiB (the caller then asks /proc/self/fd, OpenedPathLabel).
uint32_t RelativeOpenedLabel(int dirfd, const char* path, const char* kind_guess);

// `label` (a GuessedOpenedLabel) checked against what `fd` is now: the label
// OpenedPathLabel(fd, <its path>) gives, that is the guess itself when the
// guessed kind is right, else the label with the kind fstat tells (and
// "socket ..." / "unknown" as there). With kOnKeptCwd, the path is the one
// /proc/self/fd/N gives (" (deleted)" left out) when its directory differs:
// the working directory had moved unseen, or the file was moved to another
// directory since (kept as it is in a sandbox, or when /proc cannot say;
// a file renamed in place keeps the name it was opened by). A label
// without kUnverifiedKind is
// returned as is. When fstat fails (closed behind the hooks' back), the
// guess without the flag.
uint32_t VerifiedOpenedLabel(int fd, uint32_t label);

// A socket of a known family and type (SOCK_NONBLOCK/CLOEXEC bits ignored).
uint32_t SocketLabel(int family, int type);

// A socket of unknown family and type (getsockopt SO_DOMAIN / SO_TYPE).
uint32_t SocketFdLabel(int fd);

// A descriptor of unknown origin: fstat, then readlink when needed.
uint32_t ProbeFdLabel(int fd);

}  // namespace leaktrace::preload
