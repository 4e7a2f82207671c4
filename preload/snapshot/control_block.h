// How `leaktrace snapshot PID` finds a tracked process's settings without
// trusting its environment or working directory (both may have changed): a
// memfd named "leaktrace-control", a private descriptor (private_fds.h) that
// the program's closefrom, close loops and dup2 never take away. It holds key=value lines
// (version, pid, signal, signal_tid, dir, program, started, completed, last,
// failed, error, handover, handover_fd, handover_path, handover_offset,
// reader_mark, thread_request, snapshot_request), and in its last 16 bytes
// a line a reader may write to ask for the dumper thread or (a process with
// no snapshot signal) for a snapshot, padded to a fixed
// size and rewritten in place after every dump. docs/dump-format.md has the
// details.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

// Creates the block. Process start only (a fork child makes its own on its
// first write, below).
void CreateControlBlock();
// Records that dump `started` has begun and that dump `completed` is done at
// `path`. Dump lock held. A reader that saw `started` before asking for a
// snapshot waits for a completed seq beyond it, so it never takes a dump
// that was already under way when it asked.
void UpdateControlBlock(uint32_t started, uint32_t completed, const char* path);
// Records that dump `seq` could not be written, and why ("cannot create
// DIR/NAME: Permission denied"), so that `leaktrace snapshot` reports the
// process's own reason at once instead of waiting out its timeout. Dump lock
// held; the next UpdateControlBlock publishes it. Must not allocate.
void NoteFailedSnapshot(uint32_t seq, const char* reason);
// Records that dump `seq`, meant for `path`, waits in the private memfd `fd`
// for `leaktrace snapshot` to write it (snapshot.cc, HandOver). Dump lock
// held; the next UpdateControlBlock publishes it. Must not allocate.
void NoteHandedOverSnapshot(uint32_t seq, int fd, const char* path);
// For a process with no descriptor left (EMFILE: the fd leak leaktrace is
// there to find), which can neither create its dump file nor a memfd: puts
// dump `seq` in the control block's own memfd, after the block (at
// control::kBlockBytes), and notes it as handed over there. False when the
// process has no block of its own or the write fails. Dump lock held; must
// not allocate.
bool HandOverInControlBlock(const uint8_t* data, size_t size, uint32_t seq, const char* path);
// Whether a reader asked for the dumper thread since the last call
// (format/control_block.h, kThreadWantedLine, which it clears; or
// kSnapshotWantedLine, which it leaves for the thread to take). One
// pread (two system calls when asked); false in a fork child still holding
// its parent's block. Keeps no lock; async-signal-safe; sets errno on a
// failed read (callers keep the program's).
bool ReaderWantsDumperThread();
// Whether a reader asked for a snapshot through the block
// (format/control_block.h, kSnapshotWantedLine: a process with no snapshot
// signal); clears the request. ReaderWantsDumperThread says yes to it too,
// and leaves it for this. One pread (two system calls when asked); false in
// a fork child still holding its parent's block. Dumper thread.
bool ReaderWantsSnapshot();
// Whether this process still holds its parent's block (a fork child that
// has written none of its own yet).
bool ControlBlockInherited();
// Whether the process has a block of its own that a reader can find (none
// under a tight descriptor limit, or when memfd_create failed).
bool HasOwnControlBlock();
// Fork child: the block is the parent's. The child keeps that descriptor,
// and writes nothing to it, until its first UpdateControlBlock (its first
// dump, its dumper thread's start, a change of its snapshot signal), which
// closes it and makes the child's own block (one memfd_create, as at process
// start). Most fork children exec or exit before that, and skip the system
// calls. Meanwhile `leaktrace snapshot CHILD` finds the parent's block in
// the child (pid= says whose it is), takes the signal and directory from
// it (the child's are its parent's until it changes them, which makes its
// own block), and waits for the child's own block to show the dump.
void ControlBlockChildAfterFork();

}  // namespace leaktrace::preload
