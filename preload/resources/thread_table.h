// Every thread the program started through pthread_create while leaktrace
// was tracking: its creating stack, its stack size, its birth, and whether it
// still holds its stack.
//
// A thread is counted from its pthread_create until it is reaped:
//   - detached (by attribute or pthread_detach): until it ends;
//   - joinable: until pthread_join (or a try/timed join) returns it, or until
//     it is detached after it ended. A joinable thread that ended but was
//     never joined still holds its stack and its descriptor (a "zombie"
//     thread, the thread's own leak): it stays counted, under the label
//     "exited, not joined", so a diff tells it from a running one.
// A thread ends by returning from its start routine, by pthread_exit (from
// any depth) or by cancellation: the start routine runs inside a trampoline
// (ThreadTrampoline) that records the return, and a pthread key whose
// destructor the C library runs on every way out records the other two.
//
// Threads created before leaktrace was tracking, by leaktrace itself (the
// dumper thread: its creation is busy) or through entry points that bypass
// the exported pthread_create (C11 thrd_create) are not in the table, and
// joining or detaching them changes nothing here.
//
// One spin lock guards the table: taken by pthread_create, thread start and
// end, join and detach (each costs far more than the lock) and by the dumper
// while it copies the records out. Never taken on the malloc/free path. The
// table's memory is mapped (arena.h), never the program's heap. Fork-safe
// through the three handlers below; a fork child keeps only the record of
// the thread that forked (the others do not exist in it).
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstdint>

namespace leaktrace::preload {

// What the dumper sees of one live thread.
struct ThreadView {
  uint32_t stack_id;
  uint32_t label_id;     // 0 running; else the "exited, not joined" label
  uint64_t stack_bytes;  // the size of the stack it was created with
  int64_t birth_ns;      // CLOCK_MONOTONIC at pthread_create
};

using ThreadStart = void* (*)(void*);

// ---- the pthread_create hook (the calling thread is not busy) -------------

// Reserves a record for a thread about to be created at `stack_id` with
// `attr` (may be null) running start(arg). Returns the token to hand
// ThreadTrampoline as its argument, or nullptr when the table cannot take the
// thread (it is then created untracked). Never allocates through malloc.
void* ThreadReserve(uint32_t stack_id, const pthread_attr_t* attr, ThreadStart start, void* arg);
// After the real pthread_create: `rc` its result, `handle` the new thread's
// id when rc == 0. A failed creation gives the record back.
void ThreadCreated(void* token, int rc, pthread_t handle);
// The start routine the real pthread_create is given.
void* ThreadTrampoline(void* token);

// ---- reaping (join and detach hooks) --------------------------------------

// The record of `handle`, looked up before the real call (after a join
// returns, the id may at once name a new thread). 0 when not tracked.
uint64_t ThreadLookup(pthread_t handle);
// After the real call succeeded on the thread `record` names.
void ThreadJoined(uint64_t record);
void ThreadDetached(uint64_t record);

// ---- the dumper -------------------------------------------------------------

// Live records now (an upper bound for ForEachThread's calls, give or take
// threads created meanwhile).
size_t ThreadCount();
// Copies up to `capacity` live records into `out` under the table lock;
// returns how many.
size_t CopyThreads(ThreadView* out, size_t capacity);
// Calls fn(address, ctx) under the table lock with an address inside the
// stack of every tracked thread that was created and has not ended (noted
// by its creator's ThreadCreated, then by its trampoline), for the memory section when the kernel will not show a
// thread's stack pointer (process_memory.cc); returns how many. `fn` must
// not take the table lock.
size_t ForEachRunningThreadStack(void (*fn)(uintptr_t address, void* ctx), void* ctx);
// Threads created untracked because the table could not grow.
uint64_t ThreadRecordFailures();

// Fork handlers (lifecycle.cc).
void ThreadTablePrepareFork();
void ThreadTableParentAfterFork();
void ThreadTableChildAfterFork();

}  // namespace leaktrace::preload
