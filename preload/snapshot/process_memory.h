// The process's memory as the kernel sees it, for the snapshot's memory
// section (docs/dump-format.md, memory; docs/cli.md says how each figure
// counts toward RSS).
#pragma once

#include <cstdint>

namespace leaktrace::preload {

struct ProcessMemory {
  // /proc/self/status: VmRSS and its split, VmHWM, VmSwap. rss 0: unreadable.
  uint64_t rss = 0, rss_anon = 0, rss_file = 0, rss_shmem = 0, rss_peak = 0, swap = 0;
  // Resident bytes of the mappings the program made and leaktrace tracks
  // (mapping_table.h), page by page from /proc/self/pagemap.
  uint64_t mmap_resident = 0;
  bool mmap_measured = false;
  // Thread stacks: resident bytes of the mappings that hold the stack
  // pointer of some thread of the program (each mapping once).
  uint64_t thread_stacks = 0;
  uint64_t threads = 0;            // threads the kernel lists
  uint64_t threads_unlocated = 0;  // running at the time: no stack pointer to read, stack not counted
  // The resident stack of leaktrace's own dumper thread (when it writes the dump).
  uint64_t leaktrace_stack = 0;
  // leaktrace's own mappings (arena.h, TrackerResidentBytes) and the part
  // of the age table in use, resident.
  uint64_t leaktrace_resident = 0;
  bool stacks_measured = false;
};

// Reads /proc/self/status, /proc/self/task/*/syscall, /proc/self/maps and
// /proc/self/pagemap with raw system calls on private descriptors, into the
// stack and the dump's working memory (dump_scratch.h): no malloc, no lock
// but the mapping table's. For the thread writing a dump (busy, dump lock
// held); slow for a process with very many mappings or threads, never for
// a hook.
//
// How a thread's stack is found: a thread blocked in the kernel shows its
// stack pointer in /proc/self/task/TID/syscall; the mapping that holds it is
// its stack (glibc maps thread stacks itself, out of sight of the mmap hook;
// stack_mappings.h finds it). A thread running at that instant shows none
// ("running") and is counted in threads_unlocated; the calling thread reads
// its own, and the dumper thread's stack is known from an address it noted
// (dumper.h). When the kernel will not show the file (a process that dropped
// privileges), the main thread's stack holds __libc_stack_end and the
// others' hold the addresses the tracked threads noted (thread_table.h).
// When /proc/self/status counts one thread (the caller), or two of which
// the other is the dumper thread, /proc/self/task is not read.
ProcessMemory ReadProcessMemory();

// A process that drops privileges (setuid from root: memcached -u nobody,
// haproxy's `user`, lighttpd's server.username) becomes non-dumpable, and
// the kernel then gives its /proc/self/pagemap to root: it can no longer
// open it, and its dumps would lose every resident figure. A descriptor
// opened before the drop keeps working (the kernel checks at open). So the
// set*id hooks call KeepPagemapBeforeIdChange before the real call and
// SettlePagemapAfterIdChange after it: the descriptor is kept (private,
// private_fds.h) only when the process came out of the call non-dumpable,
// and only in the process that opened it (a fork child's pagemap is its
// own: it drops an inherited one). Program's thread, in the set*id hooks
// only; raw system calls, no allocation.
void KeepPagemapBeforeIdChange();
void SettlePagemapAfterIdChange();

}  // namespace leaktrace::preload
