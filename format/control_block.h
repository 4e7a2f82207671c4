// The control block, defined once for both sides: a memfd every tracked
// process keeps (preload/snapshot/control_block.cc writes it) where `leaktrace
// snapshot` (cli/control_block.cc reads it) finds the process's settings and
// the progress of its dumps, whatever became of its environment and working
// directory. Lines `key=value`, padded with newlines to kBlockBytes,
// rewritten in place; docs/dump-format.md, "The control block", says what
// each key means. Readers ignore keys they do not know.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaktrace::format::control {

// /proc/PID/fd/N of the block reads "/memfd:leaktrace-control (deleted)".
inline constexpr char kMemfdName[] = "leaktrace-control";
// A dump the process could not write itself waits in a memfd of this name.
inline constexpr char kHandoverMemfdName[] = "leaktrace-dump";
inline constexpr size_t kBlockBytes = 16384;  // three paths of up to 4 KiB fit
// Under a soft RLIMIT_NOFILE below this, a tracked process keeps no
// descriptor of its own, the block's neither (every number is the
// program's): `leaktrace snapshot` then goes by its environment. At or above
// it, a process with the library loaded and no block is not tracked.
inline constexpr long kTightDescriptorLimit = 64;
// The dumper thread's name (/proc/PID/task/TID/comm): how `leaktrace
// snapshot` finds the thread to signal in a process that keeps no block.
inline constexpr char kDumperThreadName[] = "leaktrace-dump";
inline constexpr int kVersion = 1;

inline constexpr char kKeyVersion[] = "version";
inline constexpr char kKeyPid[] = "pid";
inline constexpr char kKeySignal[] = "signal";            // 0: snapshots by signal are off
inline constexpr char kKeySignalTid[] = "signal_tid";     // the dumper thread: signal it there
inline constexpr char kKeyDir[] = "dir";
inline constexpr char kKeyProgram[] = "program";
inline constexpr char kKeyStarted[] = "started";          // seq of the last dump begun
inline constexpr char kKeyCompleted[] = "completed";      // seq of the last dump written
inline constexpr char kKeyLast[] = "last";                // its path
inline constexpr char kKeyFailed[] = "failed";            // seq of the last dump that could not be written
inline constexpr char kKeyError[] = "error";              // why (one line)
// `failed` when the process writes no snapshot any more (a seccomp sandbox).
inline constexpr uint32_t kFailedForGood = 0xFFFFFFFFu;
inline constexpr char kKeyHandover[] = "handover";        // seq of the last dump left in a handover memfd
inline constexpr char kKeyHandoverFd[] = "handover_fd";   // that memfd's number
inline constexpr char kKeyHandoverPath[] = "handover_path";  // where it was meant to go
// Where in that memfd the dump starts: 0 in a memfd of its own, kBlockBytes
// when a process with no descriptor left (EMFILE) put it in its control
// block's memfd, after the block. Readers of the block read kBlockBytes only.
inline constexpr char kKeyHandoverOffset[] = "handover_offset";
// 1: the library tells `leaktrace snapshot`'s marked signal
// (format::AskedByReader) from anyone else's. A block without it (an older
// library) gets a plain signal, which such a library takes as a reader's.
inline constexpr char kKeyReaderMark[] = "reader_mark";
// 1: the library takes a reader's request for its dumper thread. A
// single-threaded process starts that thread lazily, before its first wait
// a signal would cut short, or when asked (docs/preload.md, "Snapshots"):
// a reader that finds no thread to signal (signal_tid=0) may write
// kThreadWantedLine at kThreadRequestOffset of the process's own block;
// the process looks for it at its tracked events (no more often than every
// 10 ms), starts the thread at the first that finds it and clears the line.
// The library's own lines never reach that offset.
inline constexpr char kKeyThreadRequest[] = "thread_request";
inline constexpr char kThreadWantedLine[] = "\nthread_wanted=1";  // 16 bytes, no NUL
inline constexpr size_t kThreadRequestBytes = sizeof kThreadWantedLine - 1;
inline constexpr size_t kThreadRequestOffset = kBlockBytes - kThreadRequestBytes;
// 1: a process that takes no snapshot signal (signal=0: LEAKTRACE_SIGNAL=0,
// or the program handles every signal leaktrace could take, as a Go runtime
// does) takes a reader's snapshot request through the block instead: the
// reader writes kSnapshotWantedLine where kThreadWantedLine goes. The
// process starts its dumper thread for it as for kThreadWantedLine (and
// leaves the line), and that thread, which reads the line every
// kSnapshotRequestPollMs while the process has no snapshot signal, clears
// it and writes the snapshot. No signal is sent at all.
inline constexpr char kKeySnapshotRequest[] = "snapshot_request";
inline constexpr char kSnapshotWantedLine[] = "\nwant_snapshot=1";  // 16 bytes, no NUL
static_assert(sizeof kSnapshotWantedLine == sizeof kThreadWantedLine);
inline constexpr int kSnapshotRequestPollMs = 250;

}  // namespace leaktrace::format::control
