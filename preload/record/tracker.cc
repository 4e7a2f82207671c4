#include "preload/record/tracker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "preload/heap/block_header.h"
#include "preload/snapshot/dumper.h"
#include "preload/record/heap_peak.h"
#include "preload/internal/log.h"
#include "preload/interpose/real_functions.h"
#include "preload/record/shard_registry.h"
#include "preload/record/stack_table.h"
#include "preload/record/unwind_cache.h"
#include "preload/record/unwinder.h"

namespace leaktrace::preload {

std::atomic<Mode> g_mode{Mode::kUninitialized};
Config g_config;
HealthCounters g_health;
uint64_t g_check_secret = 0;
__thread ThreadState t_state LT_INITIAL_EXEC = {};

namespace {

std::atomic<int> g_init_state{0};  // 0 not started, 1 running, 2 done
pthread_key_t g_exit_key;

uint64_t MakeSecret() {
  uint64_t secret = 0;
  if (getrandom(&secret, sizeof secret, GRND_NONBLOCK) != sizeof secret) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    secret = static_cast<uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ULL ^ reinterpret_cast<uintptr_t>(&ts);
  }
  return secret;
}

// LEAKTRACE_PROGRAMS: decided before anything is recorded, from the name the
// program was started as (glibc sets it before any constructor runs) and its
// executable's name. A launcher (a pyenv shim, a wrapper script) left out
// still passes the library on to the program it starts.
bool ThisProgramSelected() {
  if (g_config.programs[0] == '\0') return true;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  const char* slash = strrchr(exe, '/');
  return ProgramSelected(g_config, program_invocation_short_name, slash ? slash + 1 : exe);
}

void Initialize() {
  BusyScope busy;  // dlsym allocates: those go to the bootstrap heap
  if (!ResolveRealFunctions()) {
    Log("cannot find the real allocator (dlsym RTLD_NEXT failed); leaktrace cannot run");
    g_mode.store(Mode::kInert, std::memory_order_release);
    return;
  }
  if (getauxval(AT_SECURE) != 0) {
    // setuid/setgid or file capabilities: never write files for this
    // process, never read its environment's settings.
    g_mode.store(Mode::kInert, std::memory_order_release);
    return;
  }
  LoadConfig(g_config);
  g_check_secret = MakeSecret();
  if (!g_config.valid || !ThisProgramSelected()) {
    g_mode.store(Mode::kInert, std::memory_order_release);
    return;
  }
  // libunwind is set up now, not at the first stack captured: that first
  // capture may come from inside libunwind itself (an allocator that unwinds
  // with it, as gperftools' tcmalloc does, mapping memory while it holds
  // libunwind's lock), and setting up would then wait for that lock forever.
  InitUnwinder();
  pthread_key_create(&g_exit_key, OnThreadExit);
  g_mode.store(g_config.sample_interval == 1 ? Mode::kExact : Mode::kSampled, std::memory_order_release);
}

// The calling thread's shard, attaching one on first use. nullptr for a
// thread past its exit hooks (the caller then uses the orphan shard).
Shard* ShardOf(ThreadState& t) {
  if (LT_LIKELY(t.shard != nullptr)) return t.shard;
  if (t.phase == ThreadPhase::kExited) return nullptr;
  BusyScope busy;  // pthread_setspecific may allocate
  Shard* shard = AcquireShard();
  if (shard == nullptr) return nullptr;
  ResetUnwindCache(*shard);  // a pooled shard's cache points into a dead thread's stack
  t.shard = shard;
  t.phase = ThreadPhase::kAttached;
  pthread_setspecific(g_exit_key, shard);  // may allocate: we are busy
  return shard;
}

template <typename Update>
void WithCounters(ThreadState& t, uint32_t stack_id, Update&& update) {
  // Busy: a new shard's thread registration (pthread_setspecific) may allocate.
  BusyScope busy;
  if (Shard* shard = ShardOf(t)) {
    if (SiteCounters* c = shard->CountersFor(stack_id)) {
      update(*c);
      shard->events.store(shard->events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      return;
    }
    g_health.dropped_sites.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  g_health.orphan_events.fetch_add(1, std::memory_order_relaxed);
  SpinGuard guard(OrphanLock());
  Shard& orphan = OrphanShard();
  if (SiteCounters* c = orphan.CountersFor(stack_id)) {
    update(*c);
    orphan.events.store(orphan.events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
}

// The block's share of the live heap: weight * size, rounded the same way
// for its allocation and its free.
LT_ALWAYS_INLINE void NotePeak(ThreadState& t, uint64_t size, double weight, int64_t sign) {
  const int64_t bytes = static_cast<int64_t>(weight * static_cast<double>(size) + 0.5);
  const bool batch = CurrentMode() == Mode::kExact && t.phase != ThreadPhase::kExited;  // no exit flush to come
  NoteHeapChange(t, sign * bytes, batch ? kPeakFlushBytes : 0);
}

}  // namespace

void EnsureInitialized() {
  if (g_init_state.load(std::memory_order_acquire) == 2) return;
  int expected = 0;
  if (g_init_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    Initialize();
    g_init_state.store(2, std::memory_order_release);
    return;
  }
  // Another thread is initialising; if it is this one (re-entered through
  // dlsym), the caller is busy and uses the bootstrap heap instead.
  while (g_init_state.load(std::memory_order_acquire) != 2) sched_yield();
}

uint32_t InternCaptured(Shard* shard, const CapturedStack& stack, uint64_t* hash_out) {
  const uint16_t flags = stack.truncated ? 1 : 0;
  const uint64_t hash = XXH3_64bits(stack.pcs, stack.depth * sizeof(uint64_t)) ^ flags;
  if (hash_out != nullptr) *hash_out = hash;
  if (shard != nullptr) {
    if (uint32_t id = shard->CachedStackId(hash, stack.pcs, stack.depth, flags)) return id;
  }
  Arena& arena = shard != nullptr ? shard->arena() : OrphanShard().arena();
  SpinLock* orphan_lock = shard == nullptr ? &OrphanLock() : nullptr;
  if (orphan_lock) orphan_lock->Lock();
  const uint64_t* stored = nullptr;
  const uint32_t id = InternStack(hash, stack.pcs, stack.depth, flags, arena, &stored);
  if (orphan_lock) orphan_lock->Unlock();
  if (id == 0) {
    g_health.dropped_stacks.fetch_add(1, std::memory_order_relaxed);
  } else if (shard != nullptr) {
    shard->CacheStackId(hash, id, stored, stack.depth, flags);
  }
  return id;
}

uint32_t CaptureStackId(ThreadState& t) {
  // Every tracked event (sampled allocation, descriptor, mapping) comes
  // through here: the one place the lazy dumper start needs to look.
  MaybeStartDumper();
  Shard* shard = ShardOf(t);
  BusyScope busy;
  if (kUnwindCacheAvailable && shard != nullptr) return CaptureStackIdCached(*shard);
  CapturedStack stack;
  CaptureStack(stack);
  return InternCaptured(shard, stack);
}

void RecordAlloc(ThreadState& t, uint32_t stack_id, uint64_t size, double weight) {
  if (stack_id == 0) return;
  WithCounters(t, stack_id, [&](SiteCounters& c) {
    Bump(c.alloc_count, weight);
    Bump(c.alloc_bytes, weight * static_cast<double>(size));
    if (weight > 1) {
      const double v = weight * (weight - 1);
      Bump(c.var_count, v);
      Bump(c.var_bytes, v * static_cast<double>(size) * static_cast<double>(size));
    }
    Bump(c.live_samples, 1);
  });
  NotePeak(t, size, weight, 1);
}

void RecordFree(ThreadState& t, uint32_t stack_id, uint64_t size, double weight) {
  if (stack_id == 0) return;
  WithCounters(t, stack_id, [&](SiteCounters& c) {
    Bump(c.free_count, weight);
    Bump(c.free_bytes, weight * static_cast<double>(size));
    if (weight > 1) {
      const double v = weight * (weight - 1);
      Bump(c.var_count, -v);
      Bump(c.var_bytes, -v * static_cast<double>(size) * static_cast<double>(size));
    }
    Bump(c.live_samples, -1);
  });
  NotePeak(t, size, weight, -1);
}

void OnThreadExit(void* shard) {
  ThreadState& t = t_state;
  FlushThreadHeapPending(t);
  t.shard = nullptr;
  t.phase = ThreadPhase::kExited;
  if (shard != nullptr) ReleaseShard(static_cast<Shard*>(shard));
}

}  // namespace leaktrace::preload
