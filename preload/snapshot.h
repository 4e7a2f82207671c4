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
uint32_t WriteSnapshot(format::Trigger trigger);

// Rewrites the control block (after a setting it shows changed). Takes the dump lock.
void RefreshControlBlock();

// The path of the last dump written (empty before the first).
const char* LastDumpPath();
uint32_t LastDumpSeq();

// Fork handlers for the dump lock and sequence.
void SnapshotPrepareFork();
void SnapshotParentAfterFork();
void SnapshotChildAfterFork();

}  // namespace leaktrace::preload
