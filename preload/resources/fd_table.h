// Every open descriptor the program made through a hooked call: its creating
// stack and its label (fd_kind.h), in one atomic word per descriptor number.
//
// Descriptor numbers are small dense integers owned by the kernel: between
// the call that returns N and the close(N), no other descriptor can be N. So
// the table is a plain array indexed by N, and needs no lock: a hook records
// N after the real call returned it, and clears N before the real close (so a
// concurrent open handed N again right after cannot be overwritten by the
// late clear). Two levels: a static array of chunk pointers covering every
// non-negative int, chunks of kChunkSlots slots mapped on first use
// (MapMemory, zeroed) and published with a CAS. Readers (the dumper) walk up
// to the highest descriptor ever recorded without stopping anyone.
//
// Each slot also keeps its birth: CLOCK_MONOTONIC_COARSE ns when it was
// recorded (coarse_clock.h; a dup is a new descriptor with a new birth).
// Births sit in the second half of each chunk, written before the slot's
// word is published.
//
// A fork child's table is its copy of the parent's: inherited descriptors
// keep their creating stacks, and are the child's from then on. exec starts
// over (a new image, a new library).
#pragma once

#include <atomic>
#include <cstdint>

#include "preload/internal/compiler.h"

namespace leaktrace::preload {

// The stack id of a descriptor that was open at leaktrace's first look
// (unseen_fds.h) and that it did not see made: inherited from the parent
// or across exec (0, 1, 2, a socket a supervisor passes). Recorded so that
// it is not taken for one made unseen later, counted in no site (the
// walks below skip it).
inline constexpr uint32_t kInheritedFdStack = UINT32_MAX;

// Records descriptor `fd` as made now at `stack_id` with `label_id`,
// replacing whatever the slot held (dup2 onto an open descriptor). Never
// allocates through malloc; lock-free. A stack id of 0 (stack dropped)
// records nothing.
void FdRecord(int fd, uint32_t stack_id, uint32_t label_id);
// Forgets `fd`. Lock-free; cheap when fd was never recorded.
void FdForget(int fd);
// Forgets every descriptor in [first, last].
void FdForgetRange(unsigned first, unsigned last);
// Forgets `fd` and returns its word (0 when not recorded), for FdRestore;
// the birth stays in place. Lock-free.
uint64_t FdTake(int fd);
// Puts back a word FdTake returned (nothing for 0), birth unchanged.
void FdRestore(int fd, uint64_t word);
// True when `fd` still holds the record ForEachFdWithBirth reported (same
// stack, label and birth): for a reader that looked at the descriptor itself
// in between (a snapshot checking a guessed kind). A close and an open of
// the same number by the same stack with the same label within one tick of
// the coarse clock look unchanged: the same site, the same labelled file.
bool FdStillHolds(int fd, uint32_t stack_id, uint32_t label_id, int64_t birth);
// True when `fd` is recorded.
bool FdRecorded(int fd);
// The label of `fd` if it is recorded, else 0 (for dup and accept, which
// inherit their source's kind). It may carry kUnverifiedKind (fd_kind.h).
uint32_t FdLabel(int fd);

// Calls fn(int fd, uint32_t stack_id, uint32_t label_id) for every recorded
// descriptor. Any thread; sees each slot's state at some moment of the walk.
template <typename Fn>
void ForEachFd(Fn&& fn);
// The same with the birth: fn(int fd, uint32_t stack_id, uint32_t label_id,
// int64_t birth_monotonic_ns). A slot replaced during the read is skipped.
template <typename Fn>
void ForEachFdWithBirth(Fn&& fn);

// Descriptors that could not be recorded (a chunk could not be mapped).
uint64_t FdRecordFailures();

// ---- implementation details -------------------------------------------
namespace fd_table_detail {
inline constexpr uint32_t kChunkBits = 15;
inline constexpr uint32_t kChunkSlots = 1u << kChunkBits;  // a chunk: kChunkSlots (word, birth) pairs
inline constexpr uint32_t kChunks = (1u << 31) / kChunkSlots;
extern LT_HIDDEN std::atomic<std::atomic<uint64_t>*> g_chunks[kChunks];
extern LT_HIDDEN std::atomic<int> g_high;  // highest fd ever recorded + 1
// Slot i of a chunk: its word, and its birth next to it, so that recording
// a descriptor writes one page, not two (after a fork, each page written
// first is a copy-on-write fault).
inline std::atomic<uint64_t>& WordAt(std::atomic<uint64_t>* chunk, uint32_t i) { return chunk[2 * i]; }
inline std::atomic<uint64_t>& BirthAt(std::atomic<uint64_t>* chunk, uint32_t i) { return chunk[2 * i + 1]; }
}  // namespace fd_table_detail

template <typename Fn>
void ForEachFd(Fn&& fn) {
  ForEachFdWithBirth([&](int fd, uint32_t stack_id, uint32_t label_id, int64_t) { fn(fd, stack_id, label_id); });
}

template <typename Fn>
void ForEachFdWithBirth(Fn&& fn) {
  using namespace fd_table_detail;
  const int high = g_high.load(std::memory_order_acquire);
  for (int base = 0; base < high; base += static_cast<int>(kChunkSlots)) {
    std::atomic<uint64_t>* chunk = g_chunks[static_cast<uint32_t>(base) >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) continue;
    const int end = high - base < static_cast<int>(kChunkSlots) ? high - base : static_cast<int>(kChunkSlots);
    for (uint32_t i = 0; i < static_cast<uint32_t>(end); ++i) {
      const uint64_t v = WordAt(chunk, i).load(std::memory_order_acquire);
      if (v == 0) continue;
      const int64_t birth = static_cast<int64_t>(BirthAt(chunk, i).load(std::memory_order_relaxed));
      std::atomic_thread_fence(std::memory_order_acquire);
      if (WordAt(chunk, i).load(std::memory_order_relaxed) != v) continue;  // closed or replaced meanwhile
      if (static_cast<uint32_t>(v >> 32) == kInheritedFdStack) continue;     // counted nowhere
      fn(base + static_cast<int>(i), static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v), birth);
    }
  }
}

}  // namespace leaktrace::preload
