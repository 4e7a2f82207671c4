// Process start, fork and exit.
#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>

#include "preload/snapshot/control_block.h"
#include "preload/interpose/deepbind.h"
#include "preload/snapshot/dumper.h"
#include "preload/interpose/exec_policy.h"
#include "preload/internal/fork_gate.h"
#include "preload/interpose/got_rewrite.h"
#include "preload/resources/label_table.h"
#include "preload/internal/log.h"
#include "preload/resources/mapping_table.h"
#include "preload/snapshot/module_map.h"
#include "preload/interpose/native_api.h"
#include "preload/snapshot/process_info.h"
#include "preload/interpose/real_io_functions.h"
#include "preload/heap/sampler.h"
#include "preload/record/shard_registry.h"
#include "preload/snapshot/snapshot.h"
#include "preload/record/thread_state.h"
#include "preload/record/tracker.h"
#include "preload/resources/thread_table.h"

namespace leaktrace::preload {
namespace {

bool Active() { return g_mode == Mode::kSampled || g_mode == Mode::kExact; }

void PrepareFork() {
  if (!Active()) return;
  ForkGatePrepare();  // first: no thread of ours inside libunwind or dl_iterate_phdr at fork
  SnapshotPrepareFork();
  ModuleMapPrepareFork();  // after the dump lock: the dumper takes them in this order
  RegistryPrepareFork();
  MappingTablePrepareFork();
  ThreadTablePrepareFork();
  LabelTablePrepareFork();
  GotRewritePrepareFork();
}

void ParentAfterFork() {
  if (!Active()) return;
  GotRewriteParentAfterFork();
  LabelTableParentAfterFork();
  ThreadTableParentAfterFork();
  MappingTableParentAfterFork();
  RegistryParentAfterFork();
  ModuleMapParentAfterFork();
  SnapshotParentAfterFork();
  ForkGateParentAfterFork();
}

uint64_t ChildSeed() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed) seed = 0;
  return seed ^ (static_cast<uint64_t>(getpid()) << 32) ^ static_cast<uint64_t>(ts.tv_nsec) ^
         static_cast<uint64_t>(ts.tv_sec) * 0x9E3779B97F4A7C15ULL;
}

void ChildAfterFork() {
  if (!Active()) return;
  BusyScope busy;
  ForkGateChildAfterFork();
  GotRewriteChildAfterFork();
  // The child's descriptor and mapping tables are its copies of the
  // parent's: what it inherited is its own from now on. Of the threads,
  // only the one that forked goes on in it.
  LabelTableChildAfterFork();
  MappingTableChildAfterFork();
  ThreadTableChildAfterFork();
  RegistryChildAfterFork();
  ModuleMapChildAfterFork();
  SnapshotChildAfterFork();
  RefreshProcessIds();
  // A child's own random sequence: children doing the same work would
  // otherwise sample the same allocations, and merged reports would add
  // their variances as if they were independent.
  SeedSampler(t_state.sampler, ChildSeed());
  ControlBlockChildAfterFork();
  CreateControlBlock();
  DumperChildAfterFork();
}

// LEAKTRACE_VERBOSE=1 (`leaktrace run` sets it): one line, so that a user
// sees that the library is there and what it will do.
void SayWhatIsTracked() {
  char sampling[64];
  const unsigned long long t = g_config.sample_interval;
  if (t == 1) {
    snprintf(sampling, sizeof sampling, "every heap allocation (exact)");
  } else if (t % (1024 * 1024) == 0) {
    snprintf(sampling, sizeof sampling, "heap sampled every %llum", t / (1024 * 1024));
  } else if (t % 1024 == 0) {
    snprintf(sampling, sizeof sampling, "heap sampled every %lluk", t / 1024);
  } else {
    snprintf(sampling, sizeof sampling, "heap sampled every %llu bytes", t);
  }
  char when[96];
  const int sig = g_config.snapshot_signal;
  int n = sig > 0 ? snprintf(when, sizeof when, "on signal %d", sig) : snprintf(when, sizeof when, "no snapshot signal");
  if (g_config.interval_seconds > 0 && n > 0 && n < static_cast<int>(sizeof when))
    n += snprintf(when + n, sizeof when - n, ", every %u s", g_config.interval_seconds);
  if (g_config.dump_on_exit && n > 0 && n < static_cast<int>(sizeof when))
    snprintf(when + n, sizeof when - n, ", at exit");
  Log("tracking %s (pid %d): %s, fds, mappings and threads exact; snapshots %s into %s", g_process.program, g_process.pid,
      sampling, when, g_config.dump_dir);
}

// Runs after libc is initialised and before the program's own constructors.
__attribute__((constructor(101))) void OnLoad() {
  EnsureInitialized();
  if (!Active()) return;
  BusyScope busy;
  EnsureRealIo();  // now, while the process is most likely single-threaded
  GatherProcessFacts();
  ResolveRealDlopen();
  StartNativeApi();  // before the program's code calls the allocator's own API
  if (!g_config.follow_exec) StopFollowingExec();
  CreateControlBlock();
  pthread_atfork(PrepareFork, ParentAfterFork, ChildAfterFork);
  StartDumper();
  if (g_config.verbose) SayWhatIsTracked();
}

// Runs after the program's destructors (we were loaded first, so we are
// finalised last), so their frees are already counted.
__attribute__((destructor(101))) void OnUnload() {
  if (!Active()) return;
  BusyScope busy;
  StopDumper();
  if (g_config.dump_on_exit) WriteSnapshot(format::Trigger::kExit);
}

}  // namespace
}  // namespace leaktrace::preload
