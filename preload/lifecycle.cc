// Process start, fork and exit.
#include <pthread.h>
#include <unistd.h>

#include "preload/control_block.h"
#include "preload/dumper.h"
#include "preload/process_info.h"
#include "preload/shard_registry.h"
#include "preload/snapshot.h"
#include "preload/thread_state.h"
#include "preload/tracker.h"

namespace leaktrace::preload {
namespace {

bool Active() { return g_mode == Mode::kSampled || g_mode == Mode::kExact; }

void PrepareFork() {
  if (!Active()) return;
  SnapshotPrepareFork();
  RegistryPrepareFork();
}

void ParentAfterFork() {
  if (!Active()) return;
  RegistryParentAfterFork();
  SnapshotParentAfterFork();
}

void ChildAfterFork() {
  if (!Active()) return;
  BusyScope busy;
  RegistryChildAfterFork();
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
  GatherProcessFacts();
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
