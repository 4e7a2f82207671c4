#include "preload/resources/thread_table.h"

#include <cstring>

#include "preload/internal/arena.h"
#include "preload/internal/compiler.h"
#include "preload/resources/label_table.h"
#include "preload/snapshot/dumper.h"
#include "preload/snapshot/process_info.h"
#include "preload/internal/spin_lock.h"
#include "preload/record/thread_state.h"

namespace leaktrace::preload {
namespace {

// A token names one record for one thread: (generation << 32) | (index + 1).
// The generation changes whenever the record is given back, so a late call
// about a thread that is already gone (its creator's ThreadCreated after a
// detached thread ended and its record was reused) finds nothing.
struct Record {
  uint64_t handle;  // pthread_t; valid once `indexed`
  uint32_t generation;
  uint32_t stack_id;
  uint64_t stack_bytes;
  int64_t birth_ns;
  ThreadStart start;  // read by the trampoline
  void* arg;
  uintptr_t stack_address;  // in the thread's stack: its pthread_t (ThreadCreated), then noted by the trampoline (0: not yet)
  uint32_t next_free;  // index + 1 of the next free record, 0: none
  bool live;
  bool indexed;   // its handle is in the index
  bool detached;
  bool exited;
};

LT_FORK_LOCK SpinLock g_lock;
Record* g_records = nullptr;
uint32_t g_capacity = 0;   // records mapped
uint32_t g_watermark = 0;  // records ever handed out
uint32_t g_free = 0;       // index + 1 of the first free record
size_t g_live = 0;
// The handle -> record index: open addressing, linear probing, entries are
// index + 1 (0: empty), kept at most half full.
uint32_t* g_index = nullptr;
size_t g_index_capacity = 0;
size_t g_indexed = 0;
uint64_t g_failures = 0;

std::atomic<uint32_t> g_zombie_label{0};
pthread_key_t g_key;
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
bool g_key_ok = false;

// The record of the thread running this code, if it is one of ours (the
// fork child keeps it).
__thread uint64_t t_token LT_INITIAL_EXEC = 0;

uint64_t Mix(uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  return v;
}

uint64_t TokenOf(uint32_t index) { return (static_cast<uint64_t>(g_records[index].generation) << 32) | (index + 1); }

// The live record `token` names, or nullptr. Lock held.
Record* Resolve(uint64_t token) {
  const uint32_t low = static_cast<uint32_t>(token);
  if (low == 0 || low > g_watermark) return nullptr;
  Record& r = g_records[low - 1];
  if (!r.live || r.generation != static_cast<uint32_t>(token >> 32)) return nullptr;
  return &r;
}

// ---- the index (lock held) ---------------------------------------------------

size_t Slot(uint64_t handle) { return Mix(handle) & (g_index_capacity - 1); }

uint32_t IndexFind(uint64_t handle) {
  if (g_index == nullptr) return 0;
  for (size_t i = Slot(handle);; i = (i + 1) & (g_index_capacity - 1)) {
    const uint32_t e = g_index[i];
    if (e == 0) return 0;
    if (g_records[e - 1].handle == handle) return e;
  }
}

void IndexErase(uint64_t handle) {
  if (g_index == nullptr) return;
  const size_t mask = g_index_capacity - 1;
  size_t i = Slot(handle);
  for (;; i = (i + 1) & mask) {
    if (g_index[i] == 0) return;
    if (g_records[g_index[i] - 1].handle == handle) break;
  }
  // Backward-shift deletion: no tombstones, lookups stay short.
  size_t hole = i;
  for (size_t j = (i + 1) & mask; g_index[j] != 0; j = (j + 1) & mask) {
    const size_t home = Slot(g_records[g_index[j] - 1].handle);
    // Move j into the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      g_index[hole] = g_index[j];
      hole = j;
    }
  }
  g_index[hole] = 0;
  --g_indexed;
}

void IndexPut(uint32_t entry) {
  for (size_t i = Slot(g_records[entry - 1].handle);; i = (i + 1) & (g_index_capacity - 1)) {
    if (g_index[i] == 0) {
      g_index[i] = entry;
      ++g_indexed;
      return;
    }
  }
}

bool IndexGrow() {
  const size_t capacity = g_index_capacity == 0 ? 128 : g_index_capacity * 2;
  auto* fresh = static_cast<uint32_t*>(MapMemory(capacity * sizeof(uint32_t)));  // zeroed
  if (fresh == nullptr) return false;
  uint32_t* old = g_index;
  const size_t old_capacity = g_index_capacity;
  g_index = fresh;
  g_index_capacity = capacity;
  g_indexed = 0;
  for (size_t i = 0; i < old_capacity; ++i)
    if (old[i] != 0) IndexPut(old[i]);
  if (old != nullptr) UnmapMemory(old, old_capacity * sizeof(uint32_t));
  return true;
}

void Release(uint32_t index);

// Puts the record's handle into the index. A record already there under the
// same handle names a thread that is gone (reaped through a call leaktrace
// does not see): its record is given back.
void Index(uint32_t index, uint64_t handle) {
  Record& r = g_records[index];
  if (r.indexed) return;
  if (const uint32_t stale = IndexFind(handle); stale != 0) Release(stale - 1);
  if ((g_indexed + 1) * 2 > g_index_capacity && !IndexGrow()) return;  // unindexed: never reaped by join
  r.handle = handle;
  r.indexed = true;
  IndexPut(index + 1);
}

// The table's lock, held by a thread marked busy: a snapshot that the
// snapshot signal has a thread write itself (no dumper thread: dumper.cc)
// reads this table, so it must never interrupt the lock's holder; marked
// busy, the holder leaves the request to the next chance instead.
class TableLock {
 public:
  TableLock() { g_lock.Lock(); }
  ~TableLock() { g_lock.Unlock(); }
  TableLock(const TableLock&) = delete;
  TableLock& operator=(const TableLock&) = delete;

 private:
  BusyScope busy_;  // first: marked before the lock is taken, cleared after it is given back
};

// Gives a record back. Lock held.
void Release(uint32_t index) {
  Record& r = g_records[index];
  if (r.indexed) IndexErase(r.handle);
  r.live = false;
  r.indexed = false;
  r.generation += 1;
  r.start = nullptr;
  r.arg = nullptr;
  r.next_free = g_free;
  g_free = index + 1;
  --g_live;
}

bool GrowRecords() {
  const uint32_t capacity = g_capacity == 0 ? 64 : g_capacity * 2;
  if (capacity <= g_capacity || capacity > (1u << 30)) return false;
  auto* fresh = static_cast<Record*>(MapMemory(static_cast<size_t>(capacity) * sizeof(Record)));  // zeroed
  if (fresh == nullptr) return false;
  if (g_records != nullptr) {
    std::memcpy(fresh, g_records, static_cast<size_t>(g_capacity) * sizeof(Record));
    UnmapMemory(g_records, static_cast<size_t>(g_capacity) * sizeof(Record));
  }
  g_records = fresh;
  g_capacity = capacity;
  return true;
}

// A thread of ours ended (returned, pthread_exit, cancelled). Detached: gone;
// joinable: a zombie until joined.
void Ended(uint64_t token) {
  TableLock guard;
  Record* r = Resolve(token);
  if (r == nullptr) return;
  if (r->detached) {
    Release(static_cast<uint32_t>(r - g_records));
  } else {
    r->exited = true;
  }
}

// Runs on every way out of a thread of ours, after its start routine is done
// with: return, pthread_exit, cancellation.
void KeyDestructor(void* token) {
  ThisThreadHoldsSnapshotSignalBlocked(false);  // a block ends with its thread
  Ended(reinterpret_cast<uintptr_t>(token));
}

void CreateKey() { g_key_ok = pthread_key_create(&g_key, KeyDestructor) == 0; }

// The stack size and detach state the thread is created with.
void CreationAttributes(const pthread_attr_t* attr, uint64_t* stack_bytes, bool* detached) {
  BusyScope busy;  // pthread_getattr_default_np copies a CPU set with malloc when one is set
  size_t size = 0;
  int state = PTHREAD_CREATE_JOINABLE;
  if (attr != nullptr) {
    // Unset, the C library reports its default, as it will use.
    pthread_attr_getstacksize(attr, &size);
    pthread_attr_getdetachstate(attr, &state);
  } else {
    pthread_attr_t defaults;
    if (pthread_getattr_default_np(&defaults) == 0) {
      pthread_attr_getstacksize(&defaults, &size);
      pthread_attr_destroy(&defaults);
    }
  }
  *stack_bytes = size;
  *detached = state == PTHREAD_CREATE_DETACHED;
}

}  // namespace

void* ThreadReserve(uint32_t stack_id, const pthread_attr_t* attr, ThreadStart start, void* arg) {
  if (stack_id == 0 || start == nullptr) return nullptr;
  pthread_once(&g_key_once, CreateKey);
  if (!g_key_ok) return nullptr;  // could not see the thread end
  if (g_zombie_label.load(std::memory_order_relaxed) == 0)
    g_zombie_label.store(InternKindLabel("exited, not joined"), std::memory_order_relaxed);
  uint64_t stack_bytes;
  bool detached;
  CreationAttributes(attr, &stack_bytes, &detached);
  const int64_t birth = MonotonicNs();

  TableLock guard;
  uint32_t index;
  if (g_free != 0) {
    index = g_free - 1;
    g_free = g_records[index].next_free;
  } else {
    if (g_watermark == g_capacity && !GrowRecords()) {
      ++g_failures;
      return nullptr;
    }
    index = g_watermark++;
  }
  Record& r = g_records[index];
  r.handle = 0;
  r.stack_id = stack_id;
  r.stack_bytes = stack_bytes;
  r.birth_ns = birth;
  r.start = start;
  r.arg = arg;
  r.stack_address = 0;
  r.next_free = 0;
  r.live = true;
  r.indexed = false;
  r.detached = detached;
  r.exited = false;
  ++g_live;
  return reinterpret_cast<void*>(static_cast<uintptr_t>(TokenOf(index)));
}

void ThreadCreated(void* token, int rc, pthread_t handle) {
  TableLock guard;
  Record* r = Resolve(reinterpret_cast<uintptr_t>(token));
  if (r == nullptr) return;  // a detached thread that already ended
  const auto index = static_cast<uint32_t>(r - g_records);
  if (rc != 0) {
    Release(index);  // no thread (the C library never ran the start routine)
  } else {
    Index(index, static_cast<uint64_t>(handle));
    // Until its trampoline runs (a thread not yet scheduled: a busy
    // machine, a snapshot right after pthread_create returned), the thread
    // has noted no address in its stack. glibc's pthread_t is the address
    // of the thread's descriptor, which it places at the top of the
    // thread's stack (its own mapping, or the stack given with
    // pthread_attr_setstack): an address in the stack already.
    if (r->stack_address == 0) r->stack_address = static_cast<uintptr_t>(handle);
  }
}

// Built without exceptions, so this frame has no personality routine: the
// forced unwinding of pthread_exit and cancellation passes through it to the
// C library's start_thread, which runs the key destructor.
void* ThreadTrampoline(void* token_arg) {
  const uint64_t token = reinterpret_cast<uintptr_t>(token_arg);
  ThreadStart start = nullptr;
  void* arg = nullptr;
  {
    TableLock guard;
    // The record stays live at least until this thread ends, so it is there.
    if (Record* r = Resolve(token)) {
      start = r->start;
      arg = r->arg;
      r->stack_address = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
      // Indexed here too: the thread may detach itself before its creator's
      // ThreadCreated runs.
      Index(static_cast<uint32_t>(r - g_records), static_cast<uint64_t>(pthread_self()));
    }
  }
  if (start == nullptr) return nullptr;  // cannot happen: see above
  t_token = token;
  t_state.created_thread = true;
  {
    BusyScope busy;  // a key past the first 32 gets its block from calloc
    pthread_setspecific(g_key, token_arg);
  }
  void* result = start(arg);
  // Returned: ended now. The key (cleared, so its destructor does nothing)
  // covers the other ways out.
  pthread_setspecific(g_key, nullptr);
  ThisThreadHoldsSnapshotSignalBlocked(false);  // a block ends with its thread
  Ended(token);
  t_token = 0;
  t_state.created_thread = false;
  return result;
}

uint64_t ThreadLookup(pthread_t handle) {
  TableLock guard;
  const uint32_t e = IndexFind(static_cast<uint64_t>(handle));
  return e == 0 ? 0 : TokenOf(e - 1);
}

void ThreadJoined(uint64_t token) {
  TableLock guard;
  if (Record* r = Resolve(token)) Release(static_cast<uint32_t>(r - g_records));
}

void ThreadDetached(uint64_t token) {
  TableLock guard;
  Record* r = Resolve(token);
  if (r == nullptr) return;
  if (r->exited) {
    Release(static_cast<uint32_t>(r - g_records));  // a zombie detached: reaped now
  } else {
    r->detached = true;
  }
}

size_t ThreadCount() {
  TableLock guard;
  return g_live;
}

size_t CopyThreads(ThreadView* out, size_t capacity) {
  const uint32_t zombie = g_zombie_label.load(std::memory_order_relaxed);
  TableLock guard;
  size_t n = 0;
  for (uint32_t i = 0; i < g_watermark && n < capacity; ++i) {
    const Record& r = g_records[i];
    if (!r.live) continue;
    out[n++] = ThreadView{r.stack_id, r.exited ? zombie : 0, r.stack_bytes, r.birth_ns};
  }
  return n;
}

size_t ForEachRunningThreadStack(void (*fn)(uintptr_t address, void* ctx), void* ctx) {
  TableLock guard;
  size_t n = 0;
  for (uint32_t i = 0; i < g_watermark; ++i) {
    const Record& r = g_records[i];
    if (!r.live || r.exited || r.stack_address == 0) continue;
    fn(r.stack_address, ctx);
    ++n;
  }
  return n;
}

uint64_t ThreadRecordFailures() {
  TableLock guard;
  return g_failures;
}

void ThreadTablePrepareFork() { g_lock.Lock(); }
void ThreadTableParentAfterFork() { g_lock.Unlock(); }

LT_FORK_CHILD_CODE void ThreadTableChildAfterFork() {
  g_lock.Reset();
  // Only the forking thread goes on in the child: every other record names a
  // thread the child does not have.
  const uint32_t keep = static_cast<uint32_t>(t_token);
  for (uint32_t i = 0; i < g_watermark; ++i)
    if (g_records[i].live && i + 1 != keep) Release(i);
}

}  // namespace leaktrace::preload
