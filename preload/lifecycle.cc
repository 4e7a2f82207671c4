// Process start, fork and exit.
#include <pthread.h>
#include <unistd.h>

#include "preload/control_block.h"
#include "preload/deepbind.h"
#include "preload/dumper.h"
#include "preload/exec_policy.h"
#include "preload/fork_gate.h"
#include "preload/got_rewrite.h"
#include "preload/label_table.h"
#include "preload/mapping_table.h"
#include "preload/module_map.h"
#include "preload/native_api.h"
#include "preload/process_info.h"
#include "preload/real_io_functions.h"
#include "preload/shard_registry.h"
#include "preload/snapshot.h"
#include "preload/thread_state.h"
#include "preload/tracker.h"

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
  LabelTablePrepareFork();
  GotRewritePrepareFork();
}

void ParentAfterFork() {
  if (!Active()) return;
  GotRewriteParentAfterFork();
  LabelTableParentAfterFork();
  MappingTableParentAfterFork();
  RegistryParentAfterFork();
  ModuleMapParentAfterFork();
  SnapshotParentAfterFork();
  ForkGateParentAfterFork();
}

void ChildAfterFork() {
  if (!Active()) return;
  BusyScope busy;
  ForkGateChildAfterFork();
  GotRewriteChildAfterFork();
  // The child's descriptor and mapping tables are its copies of the
  // parent's: what it inherited is its own from now on.
  LabelTableChildAfterFork();
  MappingTableChildAfterFork();
  RegistryChildAfterFork();
  ModuleMapChildAfterFork();
  SnapshotChildAfterFork();
  RefreshProcessIds();
  ControlBlockChildAfterFork();
  CreateControlBlock();
  DumperChildAfterFork();
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
