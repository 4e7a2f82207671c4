// The program's live mappings: address ranges with the stack that mapped them
// and a label ("anon", "anon shared", "file:<path>"), with range accounting:
// unmapping part of a mapping leaves the rest live, a MAP_FIXED mapping over
// tracked ranges replaces what it covers, mremap grows, shrinks or moves a
// mapping and keeps its creating stack.
//
// Every mapping created by one mmap call carries an origin number; pieces
// left by partial unmaps keep it, so a site's live count is the number of
// mmap calls with something still mapped, and its bytes what is still mapped.
//
// mmap/munmap/mremap are system calls that take the kernel's mmap lock, so a
// single mutex guards the table (taken only by hooks of the program's own
// mapping calls and by the dumper, never on the malloc path). The mutex is
// held across the real munmap/mremap so the table and the kernel change
// together: no other thread can be handed the freed range and record it
// before we drop it. Fork-safe through the three fork handlers below.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

// [start, end) page-aligned, end > start.
struct MappingView {
  uintptr_t start, end;
  uint64_t origin;
  uint32_t stack_id;
  uint32_t label_id;
  int64_t birth_ns;  // CLOCK_MONOTONIC when its mmap call returned; pieces and mremap keep it
};

class MappingTableLock {
 public:
  MappingTableLock();
  ~MappingTableLock();
  MappingTableLock(const MappingTableLock&) = delete;
  MappingTableLock& operator=(const MappingTableLock&) = delete;
};

// All below: the caller holds a MappingTableLock and is busy (the table's
// nodes come from an Arena, never from malloc).

// A new mapping [start, end): anything recorded there is dropped first.
// Returns false when out of memory (the mapping is then not tracked).
bool MappingInsert(uintptr_t start, uintptr_t end, uint32_t stack_id, uint32_t label_id);
// Drops [start, end), splitting mappings that straddle its edges.
void MappingRemove(uintptr_t start, uintptr_t end);
// The recorded mapping containing `addr`; false when there is none.
bool MappingFind(uintptr_t addr, MappingView* out);
// mremap: [old, old+old_size) now lives at [fresh, fresh+new_size), same
// stack, label, origin and birth as the mapping that contained `old`. With
// keep_old (MREMAP_DONTUNMAP, or old_size 0) the old range stays.
void MappingMove(uintptr_t old, size_t old_size, uintptr_t fresh, size_t new_size, bool keep_old);

// Calls fn(const MappingView&) for every recorded range, in address order.
void ForEachMapping(void (*fn)(const MappingView&, void*), void* ctx);
uint64_t MappingCount();
uint64_t MappingFailures();

// Fork handlers: prepare takes the mutex, the others release / reset it.
void MappingTablePrepareFork();
void MappingTableParentAfterFork();
void MappingTableChildAfterFork();

}  // namespace leaktrace::preload
