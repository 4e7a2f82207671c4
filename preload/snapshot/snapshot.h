// Writing one snapshot: totals from every shard, the stacks they use, the
// module map and the self-health counters, into
// <dir>/<program>.<pid>.<seq>.dump, atomically (temporary name, then rename)
// and mode 0600.
#pragma once

#include <cstdint>

#include "format/dump_layout.h"

namespace leaktrace::preload {

// Takes the dump lock; the calling thread must be busy. Application threads
// are never stopped: shards are read while their owners keep writing.
// Returns the sequence number written, or 0 on failure (counted, logged once).
// The file is complete before it gets its name (rename), whatever the
// trigger. Dumps the dumper thread writes are also fsync'ed; the exit dump
// is not: the program's exit waits for it, and the page cache outlives the
// process (only a crash of the machine could lose it).
uint32_t WriteSnapshot(format::Trigger trigger);

// The snapshot signal's handler, when no dumper thread runs yet (dumper.h):
// the same as WriteSnapshot(kSignal), not fsync'ed, on the interrupted
// thread (which must not be busy), on leaktrace's own stack
// (writer_stack.h); async-signal-safe as far as the dump path is (raw
// system calls, our own memory, no malloc). Returns false, writing nothing,
// when another dump holds the dump lock (or a fork is under way on this
// very thread): the caller leaves the request pending. When that stack
// cannot be mapped (no address space left), the snapshot fails as one out
// of memory does (the control block tells `leaktrace snapshot`): true.
bool TryWriteSnapshotFromHandler();

// The snapshot signal just taken came from `leaktrace snapshot`
// (format::AskedByReader): the next signal-triggered dump has a reader
// waiting, so one this process cannot write is handed over without a line
// on the program's stderr (the reader writes it). Async-signal-safe.
void NoteReaderWaits();

// From now on, and in fork children too, no snapshot is written (the
// process is entering a seccomp sandbox: hooks_sandbox.cc): WriteSnapshot
// returns 0 and TryWriteSnapshotFromHandler true, at once and without a
// system call. `reason` goes into the control block, so that `leaktrace
// snapshot` fails at once with it. Waits out a dump under way (takes the
// dump lock). Any thread but the dumper's.
void RefuseSnapshots(const char* reason);
// True once RefuseSnapshots ran (in this process or a fork parent).
bool SnapshotsRefused();

// Rewrites the control block (after a setting it shows changed). Takes the dump lock.
void RefreshControlBlock();

// The path of the last dump written (empty before the first).
const char* LastDumpPath();
uint32_t LastDumpSeq();
// How many dumps this process has begun (written, failed or handed over).
// Takes the dump lock.
uint32_t SnapshotsBegun();

// Fork handlers for the dump lock and sequence.
void SnapshotPrepareFork();
void SnapshotParentAfterFork();
void SnapshotChildAfterFork();

}  // namespace leaktrace::preload
