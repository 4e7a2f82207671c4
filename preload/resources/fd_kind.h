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
// readlink of /proc/self/fd/N. Nothing here allocates or takes a lock but
// the label table's insert lock; errno is not preserved (the hooks do that).
#pragma once

#include <cstdint>

namespace leaktrace::preload {

// A fixed kind with no detail: "pipe", "eventfd", "epoll", ...
uint32_t KindLabel(const char* kind);

// A descriptor opened by path (open, openat, creat, fopen, opendir, ...):
// fstat tells file / dir / device / fifo / socket; `path` is the path the
// program gave, used when absolute, else /proc/self/fd/N is read.
uint32_t OpenedPathLabel(int fd, const char* path);

// A socket of a known family and type (SOCK_NONBLOCK/CLOEXEC bits ignored).
uint32_t SocketLabel(int family, int type);

// A socket of unknown family and type (getsockopt SO_DOMAIN / SO_TYPE).
uint32_t SocketFdLabel(int fd);

// A descriptor of unknown origin: fstat, then readlink when needed.
uint32_t ProbeFdLabel(int fd);

}  // namespace leaktrace::preload
