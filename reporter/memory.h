// Where the RSS went: a process's resident memory split into parts that add
// up to it, from the dump's memory section (docs/dump-format.md, memory) and
// its heap sites. docs/cli.md ("Where the RSS went") defines each part.
//
//   rss = heap + allocator_free + mmap + thread_stacks + leaktrace + unexplained
//
//   heap            tracked live heap: the heap sites' live bytes (estimate
//                   in sampled mode), counted as resident
//   allocator_free  what the allocator holds resident beyond the live heap
//                   and leaktrace's bytes inside its blocks: free chunks,
//                   caches, headers, rounding, its metadata; 0 when the
//                   allocator is unknown. At most the anonymous RSS the
//                   other parts leave (allocator_held says why)
//   mmap            resident pages of the mappings the program made (pagemap)
//   thread_stacks   resident pages of the program's thread stacks
//   leaktrace       leaktrace's own memory: its mappings, its headers inside
//                   heap blocks, its dumper thread's stack, the dump buffer
//   unexplained     the remainder: code and data of the program and its
//                   libraries, memory allocated out of leaktrace's sight
#pragma once

#include <string>
#include <vector>

#include "format/dump.h"

namespace leaktrace::reporter {

// MemoryParts::allocator_not_asked: why a dump has no allocator figures
// although its allocator could have answered (docs/dump-format.md, memory).
inline constexpr const char* kNotAskedInHandler =
    "the snapshot was written in the signal handler (the dumper thread not started yet), where the allocator "
    "cannot be asked";
inline constexpr const char* kNotAskedAfterSlowAnswer = "the allocator answered slowly just before and was not asked";

struct MemoryParts {
  bool known = false;  // every dump had a memory section with RSS
  // The parts (integral bytes; `unexplained` is the remainder, so they add
  // up to rss exactly).
  double rss = 0, heap = 0, allocator_free = 0, mmap = 0, thread_stacks = 0, leaktrace = 0, unexplained = 0;
  double heap_var = 0;  // variance of the heap estimate (0 when exact)
  // What the allocator holds beyond the live heap by its own count, before
  // allocator_free's cap. glibc counts every page of its arena it has not
  // given back, touched or not: a big block used at its start and freed
  // (GNU file's buffer) leaves megabytes that were never resident, which
  // exceeded the whole anonymous RSS and drove unexplained below 0.
  double allocator_held = 0;
  // Beside the parts.
  double heap_peak = 0, heap_peak_error = 0;  // high-water mark of the tracked heap, and its bound either way
  double rss_anon = 0, rss_file = 0, rss_shmem = 0, rss_peak = 0;
  double allocator_in_use = 0;  // the allocator's own count of bytes handed out (0: unknown)
  // Of allocator_held, what the allocator itself counts as handed out beyond
  // the live heap and leaktrace's own blocks: its size classes and headers,
  // and blocks that reached it past leaktrace's hooks (a C++ operator new
  // of jemalloc's or tcmalloc's own, which leaktrace does not see). In
  // allocator_free all the same (the parts are the contract's); said beside it.
  double allocator_untracked_in_use = 0;
  double threads = 0, threads_unlocated = 0;
  // Whether the dump measured the mappings (mmap_resident) and the thread
  // stacks: a process that cannot read its own pagemap (forked after its
  // parent dropped privileges) writes neither; the parts then read 0 and
  // their bytes are in `unexplained`. Sums and growths: all of them did.
  bool mmap_measured = true, stacks_measured = true;
  // Why the allocator was not asked (empty when it was, or when it is
  // another allocator, which cannot be asked): a dump written from the
  // snapshot signal's handler (a process with no dumper thread, e.g. a fork
  // child), or right after a slow answer. allocator_free then reads 0, its
  // bytes in `unexplained`. Sums and growths: the first reason of any dump.
  std::string allocator_not_asked;
  // A new figure also goes in kFigures (memory.cc), which sums and subtracts them.
  std::string allocator;  // "glibc", "jemalloc", "tcmalloc"; empty when unknown (or mixed)
};

// One dump's parts.
MemoryParts MemoryOf(const format::Dump& dump);

// The same parts without the allocator's figures: its free memory goes back
// to `unexplained` (what a dump without them shows). Sums and growth of dumps
// of which some lack the allocator's figures use this for all.
MemoryParts WithoutAllocator(MemoryParts parts);

// Several dumps (processes) together: every part added up. Peaks add up too
// (an upper bound of the peak of the sum). Unknown when any is unknown.
MemoryParts SumMemory(const std::vector<MemoryParts>& parts);

// after - before, part by part (variances add). Unknown when either is.
MemoryParts MemoryGrowth(const MemoryParts& before, const MemoryParts& after);

// "glibc" for the allocator id of the memory section.
const char* AllocatorName(uint64_t id);

}  // namespace leaktrace::reporter
