// Process start, fork and exit.
#include "preload/interpose/lifecycle.h"
#include "preload/internal/compiler.h"

#include <link.h>
#include <linux/kcmp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>

#include "preload/snapshot/control_block.h"
#include "preload/interpose/deepbind.h"
#include "preload/record/unwinder.h"
#include "preload/snapshot/dumper.h"
#include "preload/interpose/exec_policy.h"
#include "preload/internal/errno_kept.h"
#include "preload/internal/fork_gate.h"
#include "preload/interpose/got_rewrite.h"
#include "preload/resources/label_table.h"
#include "preload/internal/log.h"
#include "preload/internal/raw_syscall.h"
#include "preload/interpose/malloc_reach.h"
#include "preload/resources/mapping_table.h"
#include "preload/snapshot/module_map.h"
#include "preload/interpose/native_api.h"
#include "preload/snapshot/process_info.h"
#include "preload/heap/growing_block.h"
#include "preload/heap/sampler.h"
#include "preload/record/shard_registry.h"
#include "preload/snapshot/snapshot.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"
#include "preload/record/tracker.h"
#include "preload/record/unwind_cache.h"
#include "preload/resources/thread_table.h"
#include "preload/internal/libc_functions.h"

namespace leaktrace::preload {
namespace {

bool Active() { return g_mode == Mode::kSampled || g_mode == Mode::kExact; }

// CLOCK_MONOTONIC just before the fork, read by the forking thread in the
// parent: the child's birth as a fork child (g_process.forked_monotonic_ns)
// without a clock read in the child, whose first touch of the vDSO page
// would be one more page fault per fork.
LT_FORK_STATE int64_t g_fork_monotonic_ns = 0;

void PrepareFork() {
  if (!Active()) return;
  g_fork_monotonic_ns = MonotonicNs();
  UnwindCachePrepareFork();  // interns what the children taught: before the gate closes
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

// Exit dumps of fork children (LEAKTRACE_ON_EXIT=1). A fork child that
// never exec'd (an exec loads the library afresh: it is then a program of
// its own) and exits within its first second (a shell's `$(...)`, a
// daemon's first fork, a test's worker) writes none: its dump would only
// repeat what it inherited, and a shell script writes one per subshell.
// Unless someone asked it for a snapshot: then its series goes on to its
// exit. Long-lived fork children (a prefork server's workers) keep theirs.
constexpr int64_t kYoungForkChildNs = 1000 * 1000 * 1000;

// Whether the process runs under a seccomp filter leaktrace did not see go
// in: one it inherited across exec (man-db runs col, groff and the like so).
// Such a filter lists what the program calls and refuses the exit dump's
// calls (the dump is lost, with a line on the program's stderr) or kills
// the process. One raw prctl: PR_GET_SECCOMP says 2 under a filter, and a
// filter that refuses prctl too fails it. Not asked after a filter
// leaktrace saw go in, which refused snapshots then (hooks_sandbox.cc) and
// may kill on prctl.
bool InASandboxNotSeen() { return RawSyscall(SYS_prctl, PR_GET_SECCOMP) != 0; }

bool WantsExitDump() {
  if (!g_config.dump_on_exit) return false;
  const bool wanted = !IsForkChild() || g_config.exit_dump_every_child ||
                      MonotonicNs() - g_process.forked_monotonic_ns >= kYoungForkChildNs ||
                      SnapshotRequestPending() || SnapshotsBegun() > 0;
  return wanted && !SnapshotsRefused() && !InASandboxNotSeen();
}

// The forking thread's random state, the child's pid and the time of the
// fork, which SeedSampler mixes: no two children of one parent get the same
// seed (their pids differ), and no system call is spent on it.
uint64_t ChildSeed(int64_t forked_ns) {
  return t_state.sampler.rng ^ (static_cast<uint64_t>(g_process.pid) << 32) ^
         static_cast<uint64_t>(forked_ns) * 0x9E3779B97F4A7C15ULL;
}

LT_FORK_CHILD_CODE void ChildAfterFork() {
  if (!Active()) return;
  BusyScope busy;
  // Every frame above this one on this stack predates the fork.
  char here;
  MarkForkingStack(reinterpret_cast<uintptr_t>(&here));
  g_process.forked_monotonic_ns = g_fork_monotonic_ns;
  ForkGateChildAfterFork();
  UnwindCacheChildAfterFork();
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
  SeedSampler(t_state.sampler, ChildSeed(g_fork_monotonic_ns));
  // The child's own control block is made when it is first needed (its
  // first dump, its dumper thread, a change of its settings): until then
  // the parent's, inherited, tells `leaktrace snapshot` the child's signal
  // and directory (control_block.h).
  ControlBlockChildAfterFork();
  DumperChildAfterFork();
  if (g_config.verbose_first_only) g_config.verbose = false;  // a fork child is quiet too
}

// At exit and at a snapshot signal, whether this process is the one the
// library's state describes, and may stop its dumper, write its dumps and
// answer its signal. A process of another pid ran no fork handler:
//   - a child made by the clone system call itself, with memory of its own
//     (bwrap's child in a new pid namespace, syscall(SYS_clone, SIGCHLD,
//     ...)) still takes itself for its parent, whose pid would name its
//     dumps (the parent's name: one of two dumps lost, with a line on
//     stderr, or two dumps claiming one process), whose control block it
//     would write and whose dumper thread it would wait for. It becomes the
//     fork child the handlers would have made it. Its clone's time was
//     never noted: it counts as old, so its exit dump is written as a
//     long-lived fork child's is. Not from inside leaktrace (busy: a
//     signal that interrupted the library's own code), which would reset
//     the state in use: false then, and the signal is not answered;
//   - a child that shares the parent's memory (a vfork child, or a
//     CLONE_VM clone, that calls exit rather than _exit, or gets the
//     signal) would write into the parent's state: it touches nothing
//     (false). So does a child the kernel cannot compare with its parent
//     (kcmp refused).
// One getpid (kcmp only for another pid), not made in a seccomp sandbox
// the library saw go in (which writes no dump, and whose filter may kill
// the process on it). Async-signal-safe: ChildAfterFork resets the
// library's own state only, and allocates nothing.
bool IsTheTrackedProcess() {
  if (SnapshotsRefused()) return true;
  const long pid = RawSyscall(SYS_getpid);
  if (LT_LIKELY(pid == g_process.pid)) return true;
  // 0: one address space; 1, 2, 3: two (ordered, or not comparable).
  if (RawSyscall(SYS_kcmp, pid, g_process.pid, KCMP_VM) <= 0) return false;  // (its two indexes unused)
  if (t_state.busy != 0) return false;
  ErrnoKept errno_kept;  // the interrupted call's, in a handler
  g_fork_monotonic_ns = 1;  // long ago, and not 0: IsForkChild
  ChildAfterFork();
  return true;
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
  // sigabbrev_np: a static string, no allocation ("USR2"; NULL for real-time signals).
  const char* abbrev = sig > 0 ? sigabbrev_np(sig) : nullptr;
  int n = sig <= 0    ? snprintf(when, sizeof when, "no snapshot signal")
          : abbrev    ? snprintf(when, sizeof when, "on SIG%s (signal %d)", abbrev, sig)
                      : snprintf(when, sizeof when, "on signal %d", sig);
  if (g_config.interval_seconds > 0 && n > 0 && n < static_cast<int>(sizeof when))
    n += snprintf(when + n, sizeof when - n, ", every %u s", g_config.interval_seconds);
  if (g_config.dump_on_exit && n > 0 && n < static_cast<int>(sizeof when))
    snprintf(when + n, sizeof when - n, ", at exit");
  Log("tracking %s (pid %d): %s, fds, mappings and threads exact; snapshots %s into %s", g_process.program, g_process.pid,
      sampling, when, g_config.dump_dir);
}

// True when this library was loaded with the program (LD_PRELOAD, before
// libc in load order), false when `leaktrace attach` dlopened it into a
// running process (after libc): it then waits for leaktrace_attach. (Not
// dladdr or a dlsym of malloc: the first walks symbol tables, the second
// would take an allocator preloaded in front of leaktrace for an attach.)
extern "C" const char __ehdr_start[] __attribute__((visibility("hidden")));
bool LoadedWithProgram() {
  struct Order {
    int index = 0, self = -1, libc = -1;
  } order;
  LibcDlIteratePhdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* o = static_cast<Order*>(data);
        const char* name = info->dlpi_name ? info->dlpi_name : "";
        const char* base = strrchr(name, '/');
        base = base ? base + 1 : name;
        if (o->libc < 0 && strncmp(base, "libc.so", 7) == 0) o->libc = o->index;
        for (int i = 0; i < info->dlpi_phnum; ++i)
          if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_addr + info->dlpi_phdr[i].p_vaddr ==
                                                          reinterpret_cast<uintptr_t>(__ehdr_start))
            o->self = o->index;
        ++o->index;
        return 0;
      },
      &order);
  return order.self < 0 || order.libc < 0 || order.self < order.libc;
}

// The program's arguments, as glibc hands them to a preloaded library's
// constructor (GatherProcessFacts): nullptr when attached.
int g_start_argc = 0;
char** g_start_argv = nullptr;

// Runs after libc is initialised and before the program's own constructors.
__attribute__((constructor(101))) void OnLoad(int argc, char** argv, char**) {
  if (g_attached || !LoadedWithProgram()) return;
  NoteConstructorReached();
  EnsureInitialized();
  if (!Active()) return;
  g_start_argc = argc;
  g_start_argv = argv;
  StartTracking();
  SayIfMallocDoesNotReachTheHooks();
}

// Runs after the program's destructors (we were loaded first, so we are
// finalised last), so their frees are already counted.
__attribute__((destructor(101))) void OnUnload() {
  if (!Active() || !IsTheTrackedProcess()) return;
  BusyScope busy;
  StopDumper();
  // A buffer this thread was growing: its last steps booked (when it may
  // read the block: growing_block.h), so the exit dump has it whole.
  SettleGrowingBlock(t_state, /*alive=*/false);
  if (WantsExitDump()) {
    WriteSnapshot(format::Trigger::kExit);
  } else if (SnapshotRequestPending()) {
    WriteSnapshot(format::Trigger::kSignal);  // asked for and not yet written: still written
  }
}

}  // namespace

void StartTracking() {
  BusyScope busy;
  GatherProcessFacts(g_start_argc, g_start_argv);
  ResolveRealDlopen();
  StartNativeApi();  // before the program's code calls the allocator's own API
  // An attached process never had LD_PRELOAD from us: nothing to strip.
  if (!g_config.follow_exec && !g_attached) StopFollowingExec();
  // The dumper thread starts lazily (dumper.h), except in a process
  // attached to: already running, most likely waiting where a signal would
  // cut its call short.
  const bool dumper_at_once = g_attached;
  ExpectDumperThread(dumper_at_once);  // then the block says "starting" until the thread publishes its id
  CreateControlBlock();
  pthread_atfork(PrepareFork, ParentAfterFork, ChildAfterFork);
  SetProcessCheck(IsTheTrackedProcess);
  StartDumper(dumper_at_once, g_process.start_monotonic_ns);
  if (g_config.verbose) SayWhatIsTracked();
  if (g_config.verbose_first_only && !g_attached) QuietenWhatThisProcessRuns();
}

}  // namespace leaktrace::preload
