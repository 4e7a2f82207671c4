#include "preload/snapshot/dumper.h"
#include "preload/internal/compiler.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "format/snapshot_signal.h"
#include "preload/internal/errno_kept.h"
#include "format/control_block.h"
#include "preload/internal/log.h"
#include "preload/internal/one_thread.h"
#include "preload/snapshot/control_block.h"
#include "preload/snapshot/interrupted_wait.h"
#include "preload/snapshot/process_info.h"
#include "preload/snapshot/snapshot.h"
#include "preload/record/thread_state.h"
#include "preload/internal/mode.h"
#include "preload/record/unwinder.h"
#include "preload/internal/kernel_clock.h"

namespace leaktrace::preload {

LT_FORK_LOCK std::atomic<bool> g_lazy_start_armed{false};
LT_FORK_STATE std::atomic<bool> g_every_event_checks_lazy_start{false};

namespace {

LT_FORK_LOCK sem_t g_wake;
// Lazy start (dumper.h): due once CLOCK_MONOTONIC passes this, or at once
// when g_start_wanted (a snapshot signal found no thread).
LT_FORK_STATE std::atomic<int64_t> g_lazy_start_ns{0};
LT_FORK_STATE std::atomic<bool> g_start_wanted{false};
// A reader's request for the thread (ReaderWantsDumperThread) is looked
// for at tracked events no more often than this: one pread each time.
constexpr int64_t kRequestLookNs = 10 * 1000 * 1000;
LT_FORK_STATE std::atomic<int64_t> g_next_request_look_ns{0};
LT_FORK_STATE std::atomic<uint32_t> g_events_unlooked{0};  // DueAtThisEvent's count

LT_FORK_STATE std::atomic<bool> g_stopping{false};
LT_FORK_STATE std::atomic<int> g_pending_signals{0};
LT_FORK_STATE std::atomic<int> g_dumper_tid{0};
// A thread is on its way (DumperThreadIdForControlBlock): set before it is
// created, cleared when creating it failed or in a fork child that starts
// none at once.
LT_FORK_STATE std::atomic<bool> g_thread_expected{false};
// Creating the thread failed (EAGAIN: haproxy's workers set RLIMIT_NPROC to
// 0, which forbids threads too): the handler writes each snapshot itself,
// as before a lazy start, rather than leave it to a thread that never comes.
LT_FORK_STATE std::atomic<bool> g_thread_failed{false};
std::atomic<uintptr_t> g_dumper_stack{0};  // set before g_dumper_tid
// The thread's stack, in .bss rather than a mapping of its own: glibc maps
// a thread's stack with a guard page, two more mappings that every fork
// copies and every fork child unmaps at its exit (each about 1 % of a
// fork + _exit), and two more system calls at every start. No guard page
// then: the thread's frames are small and bounded (a dump keeps its big
// buffers off the stack), far from this size. Only one dumper thread at a
// time uses it (a paused one is joined before the next starts; a fork
// child has its own copy).
constexpr size_t kDumperStackBytes = 256 * 1024;
alignas(4096) char g_dumper_stack_memory[kDumperStackBytes];
// The dumper thread is joinable so it can be stopped around the program's
// privilege changes (PauseDumper). Guarded by g_pause_lock after start-up.
pthread_t g_thread;
// Created (pthread_create returned) and not joined since: the thread may not
// have published its id yet, but it is alive until it has. Written under
// g_pause_lock after start-up; read by any thread (DumperThreadCreated).
LT_FORK_STATE std::atomic<bool> g_thread_running{false};
LT_FORK_STATE bool g_thread_paused = false;
LT_FORK_LOCK pthread_mutex_t g_pause_lock = PTHREAD_MUTEX_INITIALIZER;
std::atomic<ProcessCheck> g_process_check{nullptr};  // SetProcessCheck
bool g_handler_installed = false;  // leaktrace owns the snapshot signal (g_signal_lock)
// The program's view of the snapshot signal while leaktrace owns it: what it
// would find without leaktrace (captured at start), then what it set.
struct sigaction g_program_action = {};
LT_FORK_LOCK pthread_mutex_t g_signal_lock = PTHREAD_MUTEX_INITIALIZER;
// A signal given up while the dumper thread runs: the thread blocks it in
// itself (so the kernel no longer delivers it there), then, for `restore`,
// puts the program's disposition back.
LT_FORK_STATE std::atomic<bool> g_release_pending{false};
int g_release_signal = 0;
bool g_release_restore = false;
// When the program takes the snapshot signal, leaktrace moves once to a
// real-time signal nobody uses (AdoptFallbackSignal), so that `leaktrace
// snapshot` (which reads the signal from the control block) still reaches
// the dumper thread. The thread unblocks it when g_adopt_pending is up.
bool g_fallback_used = false;  // g_signal_lock
int g_adopt_signal = 0;
LT_FORK_STATE std::atomic<bool> g_adopt_pending{false};
// Program threads holding the snapshot signal blocked now, in a set of a
// handful of signals (ThisThreadHoldsSnapshotSignalBlocked; counted from 0
// again whenever the snapshot signal changes), and a signal sent
// to the whole process meanwhile, to be given back to the program by the
// dumper thread (HandBackInThread).
LT_FORK_STATE std::atomic<int> g_threads_blocking{0};
// Whether this thread is one of those g_threads_blocking counts.
__thread bool t_holds_snapshot_signal LT_INITIAL_EXEC = false;
LT_FORK_STATE std::atomic<int> g_hand_back_signal{0};  // 0: none

void StartThread();

// The program's disposition back in place of leaktrace's handler.
void RestoreProgramDisposition(int sig) {
  ++t_state.busy;  // our own sigaction call: the hook forwards it
  sigaction(sig, &g_program_action, nullptr);
  --t_state.busy;
}

// On the dumper thread: stop taking a signal given up (GiveUpSnapshotSignal),
// then take the one adopted in its place (AdoptFallbackSignal).
void ReleaseSignalInThread() {
  if (g_release_pending.load(std::memory_order_acquire)) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, g_release_signal);
    pthread_sigmask(SIG_BLOCK, &one, nullptr);
    if (g_release_restore) RestoreProgramDisposition(g_release_signal);
    g_release_pending.store(false, std::memory_order_release);
  }
  if (g_adopt_pending.exchange(false, std::memory_order_acq_rel)) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, g_adopt_signal);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  }
}

void OnSnapshotSignal(int, siginfo_t*, void*);

bool InstallSnapshotHandler(int sig) {
  struct sigaction action = {};
  action.sa_sigaction = OnSnapshotSignal;
  action.sa_flags = SA_RESTART | SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  ++t_state.busy;  // our own sigaction call: the hook forwards it
  const bool ok = sigaction(sig, &action, nullptr) == 0;
  --t_state.busy;
  return ok;
}

// A real-time signal at its default disposition (nobody handles it; sent to
// a process it would kill it, so no program sends it expecting to live),
// from SIGRTMAX down: programs that use real-time signals count up from
// SIGRTMIN. 0 when none is free.
int FreeRealtimeSignal(int taken) {
  for (int sig = SIGRTMAX; sig >= SIGRTMIN + 4; --sig) {
    if (sig == taken) continue;
    struct sigaction current = {};
    ++t_state.busy;
    const int rc = sigaction(sig, nullptr, &current);
    --t_state.busy;
    if (rc == 0 && current.sa_handler == SIG_DFL) return sig;
  }
  return 0;
}

// The program took the snapshot signal `taken`: snapshots move, once, to a
// free real-time signal; the control block tells `leaktrace snapshot`.
// g_signal_lock held (or start-up, single-threaded). False when it stays off.
bool AdoptFallbackSignal(int taken) {
  if (g_fallback_used) return false;
  g_fallback_used = true;
  const int sig = FreeRealtimeSignal(taken);
  if (sig == 0) return false;
  if (!InstallSnapshotHandler(sig)) return false;
  g_program_action = {};  // what the program would find there: the default (FreeRealtimeSignal)
  g_program_action.sa_handler = SIG_DFL;
  g_config.snapshot_signal = sig;
  g_handler_installed = true;
  if (g_dumper_tid.load(std::memory_order_acquire) != 0) {
    g_adopt_signal = sig;
    g_adopt_pending.store(true, std::memory_order_release);
    sem_post(&g_wake);
  }
  return true;
}

// The program takes the snapshot signal over (a handler of its own, SIG_IGN,
// signalfd, sigwait). g_signal_lock held.
void GiveUpSnapshotSignal(bool restore) {
  const int sig = g_config.snapshot_signal;
  g_handler_installed = false;
  g_config.snapshot_signal = 0;
  g_threads_blocking.store(0, std::memory_order_release);  // blocks of the old signal: no longer ours to weigh
  if (g_dumper_tid.load(std::memory_order_acquire) != 0) {
    g_release_signal = sig;
    g_release_restore = restore;
    g_release_pending.store(true, std::memory_order_release);
    sem_post(&g_wake);
    // Wait (1 s at most: a dump may be under way) until the thread no
    // longer takes the signal, so that one the program raises right after
    // its signalfd or sigaction call is the program's.
    for (int i = 0; i < 20000 && g_release_pending.load(std::memory_order_acquire); ++i) {
      const timespec pause = {0, 50 * 1000};
      nanosleep(&pause, nullptr);
    }
  } else if (restore) {
    RestoreProgramDisposition(sig);  // no thread of ours takes it
  }
  AdoptFallbackSignal(sig);
  RefreshControlBlock();
}

// On the dumper thread: a snapshot signal the handler gave back to the
// program (HandedBackToProgram). The thread stops taking it, the program's
// disposition goes back, snapshots move to the fallback signal, and the
// signal is raised again for the program: pending for a thread that blocks
// it, or acted on by one that does not, as without leaktrace.
void HandBackInThread() {
  const int sig = g_hand_back_signal.load(std::memory_order_acquire);
  if (sig == 0) return;
  pthread_mutex_lock(&g_signal_lock);
  if (g_handler_installed && g_config.snapshot_signal == sig) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_BLOCK, &one, nullptr);
    RestoreProgramDisposition(sig);
    g_handler_installed = false;
    g_config.snapshot_signal = 0;
    g_threads_blocking.store(0, std::memory_order_release);  // as GiveUpSnapshotSignal
    AdoptFallbackSignal(sig);
    RefreshControlBlock();
    // As for a handler of the program's (TakeSnapshotSignalBack): the
    // program's stderr is its own; `leaktrace snapshot` finds the new signal.
    if (g_config.snapshot_signal > 0 && g_config.verbose)
      Log("the program takes signal %d for itself (it had it blocked when one arrived): leaktrace takes snapshots "
          "on signal %d instead (leaktrace snapshot PID knows it)", sig, g_config.snapshot_signal);
  }
  pthread_mutex_unlock(&g_signal_lock);
  g_hand_back_signal.store(0, std::memory_order_release);
  kill(getpid(), sig);
}

int64_t CoarseNowNs() { return KernelClockNs(CLOCK_MONOTONIC_COARSE); }

// Counted from `born_ns`: in a fork child the fork (g_process.forked_monotonic_ns,
// read in the parent before it), so no clock read in the child, whose first
// touch of the vDSO would cost a page fault on every fork. (The coarse clock
// it is compared with is the same clock, a tick behind at most.)
void ArmLazyStart(int64_t born_ns) {
  g_start_wanted.store(false, std::memory_order_relaxed);
  g_lazy_start_ns.store(born_ns + int64_t{kLazyStartMs} * 1000000, std::memory_order_relaxed);
  g_next_request_look_ns.store(born_ns + kRequestLookNs, std::memory_order_relaxed);  // none before: no reader yet
  g_lazy_start_armed.store(true, std::memory_order_release);
}

// A snapshot signal sent to the whole process (kill, not the dumper thread's
// tgkill, nor `leaktrace snapshot`'s marked one: format::AskedByReader)
// while a program thread holds it blocked may be the program's: it
// gets it back, raised again once nothing of leaktrace's takes it. With the
// dumper thread running, that thread does it (HandBackInThread: it blocks
// the signal in itself first, so the signal stays pending for the program).
// Without one, this thread does not block it, and the kernel would have
// given the signal to it without leaktrace too: the program's disposition
// back, the signal raised again, acted on when this handler returns.
// Async-signal-safe.
bool HandedBackToProgram(int sig, const siginfo_t* info) {
  if (g_threads_blocking.load(std::memory_order_acquire) <= 0 || info == nullptr || info->si_code == SI_TKILL ||
      format::AskedByReader(info))
    return false;
  ErrnoKept errno_kept;  // sem_post, kill
  int none = 0;
  if (!g_hand_back_signal.compare_exchange_strong(none, sig, std::memory_order_acq_rel)) return true;  // on its way
  if (g_dumper_tid.load(std::memory_order_acquire) != 0) {
    sem_post(&g_wake);
    return true;
  }
  g_handler_installed = false;
  g_config.snapshot_signal = 0;
  RestoreProgramDisposition(sig);
  g_hand_back_signal.store(0, std::memory_order_release);
  kill(getpid(), sig);
  return true;
}

// Starts the thread unless it runs, is paused or stopped for good, or was
// started meanwhile (the lazy start no longer armed). g_pause_lock held.
void StartIfStillArmed() {
  if (g_lazy_start_armed.load(std::memory_order_relaxed) && !g_thread_running && !g_thread_paused &&
      !g_stopping.load(std::memory_order_relaxed)) {
    g_lazy_start_armed.store(false, std::memory_order_relaxed);
    g_every_event_checks_lazy_start.store(false, std::memory_order_relaxed);
    StartThread();
  }
}

// The lazy start itself, once its caller judged it due and safe. Never
// waits: a privilege change holds g_pause_lock (PauseDumper) and another
// thread may be starting it right now.
void StartArmedThread() {
  if (pthread_mutex_trylock(&g_pause_lock) != 0) return;
  StartIfStillArmed();
  pthread_mutex_unlock(&g_pause_lock);
}

// From the snapshot signal's handler, before the lazy start: starts the
// thread now when the interrupted thread is in a wait that holds no lock
// starting a thread needs (InterruptedInARestartedWait: a server idle in
// accept or read, a test's step reading its stdin). The thread then writes
// the snapshot, the allocator asked, as it would have from the start.
bool StartThreadFromHandler(const void* ucontext) {
  if (!InterruptedInARestartedWait(ucontext) || getpid() != g_process.pid) return false;
  StartArmedThread();
  return g_thread_running.load(std::memory_order_acquire);
}

void OnSnapshotSignal(int sig, siginfo_t* info, void* ucontext) {
  const ProcessCheck is_tracked_process = g_process_check.load(std::memory_order_acquire);
  if (is_tracked_process != nullptr && !is_tracked_process()) return;
  if (HandedBackToProgram(sig, info)) return;
  if (format::AskedByReader(info)) NoteReaderWaits();
  if (g_dumper_tid.load(std::memory_order_acquire) != 0 ||
      (!g_lazy_start_armed.load(std::memory_order_acquire) && !g_thread_failed.load(std::memory_order_acquire))) {
    RequestSnapshot();  // the thread runs (or is paused, and takes it when it resumes)
    return;
  }
  // No thread yet (dumper.h), or none can be made: start it here if the
  // interrupted thread allows, else write this one here, unless this thread
  // is inside leaktrace or another dump is under way; either way the thread
  // starts at the next tracked event (if it can; if not, the next signal or
  // the exit dump takes the request).
  const int saved_errno = errno;
  g_start_wanted.store(true, std::memory_order_relaxed);
  // The fast paths of exact mode and of a sampled block's resize skip the
  // lazy start's check until now (dumper.h).
  if (g_lazy_start_armed.load(std::memory_order_relaxed))
    g_every_event_checks_lazy_start.store(true, std::memory_order_relaxed);
  ThreadState& t = t_state;
  bool written = false;
  if (t.busy == 0) {
    ++t.busy;  // pthread_create allocates
    written = StartThreadFromHandler(ucontext);
    if (written) {
      RequestSnapshot();  // the new thread writes it
    } else {
      written = TryWriteSnapshotFromHandler();
    }
    --t.busy;
  }
  if (!written) RequestSnapshot();  // the thread takes it when it starts
  errno = saved_errno;
}

void* DumperMain(void*) {
  ++t_state.busy;  // nothing this thread allocates is the program's
  // Its own name (no /proc write by the thread that started it), by which
  // `leaktrace snapshot` finds it in a process that keeps no control block.
  prctl(PR_SET_NAME, format::control::kDumperThreadName);
  // The one signal this thread takes is the snapshot signal: sent to this
  // thread alone (`leaktrace snapshot` uses rt_tgsigqueueinfo with the tid
  // published in the control block), it interrupts none of the program's
  // system calls.
  g_dumper_stack.store(reinterpret_cast<uintptr_t>(__builtin_frame_address(0)), std::memory_order_relaxed);
  g_dumper_tid.store(static_cast<int>(gettid()), std::memory_order_release);
  if (g_config.snapshot_signal > 0) {
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, g_config.snapshot_signal);
    pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  }
  // Its id into the control block; not when the process is already exiting
  // (a program that returns from main at once): the exit dump holds the
  // dump lock, and waking this thread at its end only delays the exit.
  if (!g_stopping.load(std::memory_order_acquire)) RefreshControlBlock();
  const int64_t interval_ns = int64_t{g_config.interval_seconds} * 1000000000;
  // sem_clockwait's clock: the kernel's.
  int64_t next_ns = KernelClockNs(CLOCK_MONOTONIC) + interval_ns;
  // Waits first, even when already stopping: at exit the thread is left
  // waiting (StopDumper) for the exit to end it, so that the exit dump
  // finds it alive and can count it without listing /proc/self/task.
  for (;;) {
    // No snapshot signal (LEAKTRACE_SIGNAL=0, or the program handles every
    // signal leaktrace could take): a reader asks through the control block
    // (format/control_block.h, kSnapshotWantedLine), looked at between
    // waits of kSnapshotRequestPollMs. The request that started this
    // thread is taken at once.
    const bool polls = g_config.snapshot_signal == 0;
    if (polls && !g_stopping.load(std::memory_order_acquire) && ReaderWantsSnapshot())
      WriteSnapshot(format::Trigger::kSignal);
    int64_t until_ns = interval_ns != 0 ? next_ns : INT64_MAX;
    if (polls) {
      const int64_t poll_ns =
          KernelClockNs(CLOCK_MONOTONIC) + int64_t{format::control::kSnapshotRequestPollMs} * 1000000;
      if (poll_ns < until_ns) until_ns = poll_ns;
    }
    const timespec until = {static_cast<time_t>(until_ns / 1000000000), static_cast<long>(until_ns % 1000000000)};
    const int rc = until_ns != INT64_MAX ? sem_clockwait(&g_wake, CLOCK_MONOTONIC, &until) : sem_wait(&g_wake);
    const bool timed_out = rc != 0 && errno == ETIMEDOUT;
    if (g_stopping.load(std::memory_order_acquire)) break;
    HandBackInThread();
    ReleaseSignalInThread();
    if (rc == 0) {
      // Several signals while one dump was written ask for one more dump; a
      // wake-up with no request behind it (a stop, see PauseDumper) for none.
      while (sem_trywait(&g_wake) == 0) {
      }
      if (g_pending_signals.exchange(0, std::memory_order_acq_rel) > 0) WriteSnapshot(format::Trigger::kSignal);
    } else if (timed_out && interval_ns != 0) {
      const int64_t now_ns = KernelClockNs(CLOCK_MONOTONIC);
      if (now_ns >= next_ns) {  // not a poll's timeout
        WriteSnapshot(format::Trigger::kInterval);
        next_ns += interval_ns;
        if (next_ns <= now_ns) next_ns = now_ns + interval_ns;  // fell behind: no burst
      }
    }
  }
  return nullptr;
}

// What glibc allocates on the thread that makes leaktrace's thread (the
// attributes' extension for their signal mask, the new thread's vector of
// TLS blocks: callocs from the program's arena) comes from the bootstrap
// heap for the scope: a block left in the program's heap, or freed into
// glibc's thread cache, wherever its top was at that moment would pin the
// heap there for good (a program that built 100 MB, then gave a socket a
// timeout, which starts the thread, and freed it all kept the 100 MB
// resident). Two bootstrap pages a start, never reused: the thread starts
// once, again only after a pause (a privilege change); once the bootstrap
// heap is full, the real allocator's, as before. Sampled mode's countdown is emptied meanwhile, so that every
// allocation takes the slow path that looks at own_heap, and restored
// after; busy keeps them untracked in either mode.
class OwnThreadCreation {
 public:
  OwnThreadCreation() : t_(t_state), gap_(t_.sampler.gap) {
    ++t_.busy;
    t_.own_heap = true;
    t_.sampler.gap = 0;
  }
  ~OwnThreadCreation() {
    t_.sampler.gap = gap_;
    t_.own_heap = false;
    --t_.busy;
  }
  OwnThreadCreation(const OwnThreadCreation&) = delete;
  OwnThreadCreation& operator=(const OwnThreadCreation&) = delete;

 private:
  ThreadState& t_;
  const uint64_t gap_;
};

void StartThread() {
  // From the attributes' signal mask (a calloc of glibc's, freed at their
  // destruction, but left in the thread's cache at the heap's top) to the
  // thread's own vector.
  OwnThreadCreation own;
  // The thread must not take the program's signals: it starts with them all
  // blocked (set through its attributes: the caller's mask is left alone,
  // two system calls fewer than blocking them here around the creation).
  sigset_t all;
  sigfillset(&all);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setsigmask_np(&attr, &all);
  pthread_attr_setstack(&attr, g_dumper_stack_memory, sizeof g_dumper_stack_memory);
  g_thread_expected.store(true, std::memory_order_seq_cst);
  if (const int err = pthread_create(&g_thread, &attr, DumperMain, nullptr); err != 0) {
    g_thread_expected.store(false, std::memory_order_release);
    // Refused at a limit on processes the program lives under (each of a
    // server's workers, ulimit -u): said under LEAKTRACE_VERBOSE only, as
    // the yield of a running thread is; the program's stderr is its own.
    rlimit tasks{};
    const bool at_process_limit =
        err == EAGAIN && getrlimit(RLIMIT_NPROC, &tasks) == 0 && tasks.rlim_cur != RLIM_INFINITY;
    if (!g_thread_failed.exchange(true, std::memory_order_acq_rel) && (!at_process_limit || g_config.verbose))
      Log("cannot start the dumper thread (error %d%s): snapshots by signal are written on the thread the signal "
          "interrupts, no interval snapshots", err, err == EAGAIN ? ", a limit on processes or threads, or no memory left" : "");
  } else {
    g_thread_failed.store(false, std::memory_order_release);
    g_thread_running.store(true, std::memory_order_release);
  }
  pthread_attr_destroy(&attr);
}

}  // namespace

int DumperThreadId() { return g_dumper_tid.load(std::memory_order_acquire); }

int DumperThreadIdForControlBlock() {
  const int tid = g_dumper_tid.load(std::memory_order_acquire);
  if (tid > 0) return tid;
  return g_thread_expected.load(std::memory_order_acquire) ? -1 : 0;
}

void ExpectDumperThread(bool at_once) {
  g_thread_expected.store(at_once && (g_config.interval_seconds > 0 || g_config.snapshot_signal > 0),
                          std::memory_order_release);
}
uintptr_t DumperStackAddress() { return g_dumper_stack.load(std::memory_order_relaxed); }
void DumperStackRange(uintptr_t* begin, uintptr_t* end) {
  *begin = reinterpret_cast<uintptr_t>(g_dumper_stack_memory);
  *end = *begin + sizeof g_dumper_stack_memory;
}
bool DumperThreadCreated() { return g_thread_running.load(std::memory_order_acquire); }

bool ProgramSetsSnapshotSignal(int sig, const struct sigaction* act, struct sigaction* old, SigactionFn next, int* rc) {
  if (!g_handler_installed || sig != g_config.snapshot_signal || t_state.busy != 0) return false;
  // A vfork child shares our memory, not our handlers: what it does to its
  // signals before exec is its own business.
  if (getpid() != g_process.pid) return false;
  const int saved_errno = errno;
  pthread_mutex_lock(&g_signal_lock);
  if (!g_handler_installed) {  // given up meanwhile: the program's call goes through
    pthread_mutex_unlock(&g_signal_lock);
    return false;
  }
  const struct sigaction shown = g_program_action;
  *rc = 0;
  if (act != nullptr) {
    const void* handler = (act->sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(act->sa_sigaction)
                                                       : reinterpret_cast<void*>(act->sa_handler);
    if (handler == reinterpret_cast<void*>(SIG_DFL)) {
      // The default (what a shell probing its traps, or a child before
      // exec, sets): ours stays, unseen; the program sees what it set.
      g_program_action = *act;
    } else {
      // A handler of its own, or SIG_IGN (which must survive an exec):
      // the signal is the program's from now on.
      *rc = next(sig, act, nullptr);
      if (*rc == 0) {
        GiveUpSnapshotSignal(/*restore=*/false);
        // Said only when asked (LEAKTRACE_VERBOSE, which `leaktrace run`
        // sets): otherwise it was a line in every interactive bash, every
        // tmux command and every xargs -P, whose stderr is the user's.
        // `leaktrace snapshot` finds the new signal in the control block.
        // Not in a fork child: its stderr is its parent's.
        if (handler != reinterpret_cast<void*>(SIG_IGN) && g_config.verbose && !IsForkChild()) {
          if (g_config.snapshot_signal > 0)
            Log("the program installs its own handler for signal %d: leaktrace takes snapshots on signal %d "
                "instead (leaktrace snapshot PID knows it)", sig, g_config.snapshot_signal);
          else
            Log("the program installs its own handler for signal %d, and for every one leaktrace could take "
                "instead: leaktrace sends no snapshot signal (leaktrace snapshot PID asks through the process's "
                "control block instead)", sig);
        }
      }
    }
  }
  pthread_mutex_unlock(&g_signal_lock);
  if (old != nullptr && *rc == 0) *old = shown;  // what the program would find without leaktrace
  errno = saved_errno;
  return true;
}

void ProgramWaitsForSignals(const sigset_t* set) {
  if (set == nullptr || !g_handler_installed || t_state.busy != 0 || getpid() != g_process.pid) return;
  const int sig = g_config.snapshot_signal;
  if (sig <= 0 || sigismember(set, sig) != 1) return;
  const int saved_errno = errno;
  pthread_mutex_lock(&g_signal_lock);
  if (g_handler_installed) {
    GiveUpSnapshotSignal(/*restore=*/true);
    if (!IsForkChild() && g_config.verbose) {
      if (g_config.snapshot_signal > 0)
        Log("the program takes signal %d for itself (reads it with signalfd or sigwait): leaktrace takes "
            "snapshots on signal %d instead (leaktrace snapshot PID knows it)", sig, g_config.snapshot_signal);
      else
        Log("the program takes signal %d for itself (reads it with signalfd or sigwait), and leaktrace finds no "
            "other: it sends no snapshot signal (leaktrace snapshot PID asks through the process's control block "
            "instead)",
            sig);
    }
  }
  pthread_mutex_unlock(&g_signal_lock);
  errno = saved_errno;
}

void ThisThreadHoldsSnapshotSignalBlocked(bool holds) {
  if (holds == t_holds_snapshot_signal) return;
  t_holds_snapshot_signal = holds;
  if (holds) {
    g_threads_blocking.fetch_add(1, std::memory_order_acq_rel);
  } else if (g_threads_blocking.fetch_sub(1, std::memory_order_acq_rel) <= 0) {
    g_threads_blocking.store(0, std::memory_order_release);  // a hold counted before a reset (of a signal since given up)
  }
}

bool ThisThreadHoldsSnapshotSignal() { return t_holds_snapshot_signal; }

void SetProcessCheck(ProcessCheck check) { g_process_check.store(check, std::memory_order_release); }

void RequestSnapshot() {
  const int saved_errno = errno;
  g_pending_signals.fetch_add(1, std::memory_order_acq_rel);
  sem_post(&g_wake);
  errno = saved_errno;
}

bool SnapshotRequestPending() { return g_pending_signals.load(std::memory_order_acquire) > 0; }

void StartDumper(bool at_once, int64_t born_ns) {
  sem_init(&g_wake, 0, 0);
  const int sig = g_config.snapshot_signal;
  if (sig > 0 && !g_handler_installed) {
    struct sigaction current = {};
    sigaction(sig, nullptr, &current);
    g_program_action = current;
    if (current.sa_handler != SIG_DFL) {
      // A handler, or SIG_IGN inherited across exec: the program's.
      g_config.snapshot_signal = 0;
      const bool moved = AdoptFallbackSignal(sig);
      // The program's stderr is its own (a handler at start: only in a process
      // attached to); `leaktrace snapshot` finds the new signal.
      if (current.sa_handler != SIG_IGN && g_config.verbose) {
        if (moved)
          Log("the program already handles signal %d; leaktrace leaves it alone and takes snapshots on signal %d "
              "(leaktrace snapshot PID knows it)", sig, g_config.snapshot_signal);
        else
          Log("the program already handles signal %d, and every one leaktrace could take instead; leaktrace "
              "leaves them alone (leaktrace snapshot PID asks through the process's control block instead)", sig);
      }
    } else {
      g_handler_installed = InstallSnapshotHandler(sig);
    }
  }
  // Without a signal, the thread still takes a reader's request through the
  // control block (DumperMain), so the block must say the signal is gone.
  if (g_config.snapshot_signal != sig) RefreshControlBlock();
  const bool wanted = g_config.interval_seconds > 0 || g_config.snapshot_signal > 0 || HasOwnControlBlock();
  if (at_once && wanted) {
    StartThread();
    if (!g_thread_running) RefreshControlBlock();  // no longer "starting" (ExpectDumperThread)
  } else if (wanted) {
    ArmLazyStart(born_ns);
  }
}

namespace {

// A lazy start refused (the thread may be running a signal handler) is
// not tried again before this CLOCK_MONOTONIC_COARSE time: each try walks
// the thread's stack once, and a program may wait or track events in
// handlers, or in code without unwind tables, many times a second.
LT_FORK_STATE std::atomic<int64_t> g_start_refused_until_ns{0};
constexpr int64_t kStartRefusedForNs = 100 * 1000 * 1000;

// Whether the program runs a thread of its own, or ran one (one_thread.h).
// Without glibc's flag, taken as yes: the thread then starts as it did
// before.
bool ProgramRunsThreads() { return !ProcessRunsOneThread(); }

// In a process of one thread, at a tracked event or a wait: whether a
// reader has asked for the thread (ReaderWantsDumperThread; then
// g_start_wanted is set, kept until the thread starts: a start refused in a
// signal handler is tried again). The clock is read at one call in eight
// (`every_call`: at each, a fork child in its lazy period, whose fast paths
// stop stepping aside once it is over), the block no more often than every
// 10 ms: events and waits may come for as long as the process runs.
bool ReaderAskedForTheThread(bool every_call) {
  if (!every_call) {
    // A plain add: one thread (a lost count between threads would only move a look).
    const uint32_t calls = g_events_unlooked.load(std::memory_order_relaxed) + 1;
    g_events_unlooked.store(calls, std::memory_order_relaxed);
    if ((calls & 7) != 0) return false;
  }
  const int64_t now = CoarseNowNs();
  if (every_call && now >= g_lazy_start_ns.load(std::memory_order_relaxed))
    g_every_event_checks_lazy_start.store(false, std::memory_order_relaxed);
  if (now < g_next_request_look_ns.load(std::memory_order_relaxed)) return false;
  g_next_request_look_ns.store(now + kRequestLookNs, std::memory_order_relaxed);
  ErrnoKept errno_kept;  // the pread's
  if (getpid() != g_process.pid || !ReaderWantsDumperThread()) return false;  // a vfork child: not its request
  g_start_wanted.store(true, std::memory_order_relaxed);
  return true;
}

// At a tracked event, no wait coming and no snapshot signal pending: is the
// start due (dumper.h)? Once the process is kLazyStartMs old, when it runs
// threads of its own (glibc has given up its one-thread shortcuts already)
// or has an interval (the thread is its timer); in a process of one thread,
// only when a reader asks for it, and meanwhile a fork child's fast paths
// stop stepping aside once its lazy period is over. A process of one thread
// reads the clock at one event in eight (its events may come for as long as
// it runs), a fork child in its lazy period at every one.
bool DueAtThisEvent() {
  if (g_config.interval_seconds > 0 || ProgramRunsThreads())
    return CoarseNowNs() >= g_lazy_start_ns.load(std::memory_order_relaxed);
  if (!ReaderAskedForTheThread(g_every_event_checks_lazy_start.load(std::memory_order_relaxed))) return false;
  // Every event looks from now on, as after a snapshot signal.
  g_every_event_checks_lazy_start.store(true, std::memory_order_relaxed);
  return true;
}

// The lazy start, when due (dumper.h): `before_wait`, the program is about
// to wait (hooks_wait.cc); otherwise a tracked event, due when
// DueAtThisEvent says so or a snapshot signal found no thread. The thread
// not busy.
void TryLazyStart(bool before_wait) {
  const bool wanted = before_wait || g_start_wanted.load(std::memory_order_relaxed);
  if (!wanted && !DueAtThisEvent()) return;
  const int64_t refused_until = g_start_refused_until_ns.load(std::memory_order_relaxed);
  if (refused_until != 0 && CoarseNowNs() < refused_until) return;
  // A vfork child shares our memory: it must not start threads for us.
  if (getpid() != g_process.pid) return;
  BusyScope busy;  // the walk below (libunwind), pthread_create (allocates)
  // pthread_create allocates (the new thread's TLS vector, its attributes):
  // never from a signal handler, which may have interrupted the allocator
  // (a program's handler that sleeps, or opens a file).
  if (MayBeInASignalHandler()) {
    g_start_refused_until_ns.store(CoarseNowNs() + kStartRefusedForNs, std::memory_order_relaxed);
    return;
  }
  StartArmedThread();
}

}  // namespace

void MaybeStartDumperSlow() { TryLazyStart(/*before_wait=*/false); }

void StartDumperBeforeWaitSlow() {
  if (t_state.busy != 0) return;  // our own waits, the dumper thread's
  // No snapshot signal, so none can cut the wait short: the thread starts
  // when a reader asks (at an event, or between a wait's slices), or when
  // the program runs threads of its own.
  if (g_config.snapshot_signal == 0 && g_config.interval_seconds == 0 && !ProgramRunsThreads() &&
      !g_start_wanted.load(std::memory_order_relaxed))
    return;
  ErrnoKept errno_kept;  // the wait's errno is the program's
  TryLazyStart(/*before_wait=*/true);
  // The block says -1 from now until the thread publishes its id (it may
  // not have run yet when this thread is already waiting).
  if (g_thread_running.load(std::memory_order_acquire) && g_dumper_tid.load(std::memory_order_acquire) == 0) {
    BusyScope busy;  // a fork child's first write makes its own block (memfd_create, mmap)
    RefreshControlBlock();
  }
}

bool SliceWaitInsteadOfStartingDumperSlow() {
  if (t_state.busy != 0) return false;  // our own waits, the dumper thread's
  if (g_config.interval_seconds == 0 && !ProgramRunsThreads() && !g_start_wanted.load(std::memory_order_relaxed)) {
    if (LT_UNLIKELY(ControlBlockInherited()) && getpid() == g_process.pid) {
      // A fork child (a server's worker) that waits: a block of its own,
      // where a reader can ask it for the thread (its parent's is not).
      ErrnoKept errno_kept;
      BusyScope busy;
      RefreshControlBlock();
    }
    // No block a reader could ask through (a tight descriptor limit): the
    // thread, as before, or the process could not be snapshot while it waits.
    if (!HasOwnControlBlock()) {
      StartDumperBeforeWaitSlow();
      return false;
    }
    // A reader's request, looked for here too: a program that waits in
    // short sleeps is never between two slices.
    if (!ReaderAskedForTheThread(/*every_call=*/false)) return true;
  }
  StartDumperBeforeWaitSlow();
  return false;
}

bool ServeRequestBetweenSlices() {
  if (!g_lazy_start_armed.load(std::memory_order_acquire)) return true;  // started meanwhile
  ErrnoKept errno_kept;
  if (!g_start_wanted.load(std::memory_order_relaxed) && !ProgramRunsThreads()) {
    if (getpid() != g_process.pid || !ReaderWantsDumperThread()) return false;  // a vfork child: not its request
    g_start_wanted.store(true, std::memory_order_relaxed);
  }
  StartDumperBeforeWaitSlow();  // refused in a signal handler: the next event or wait starts it
  return !g_lazy_start_armed.load(std::memory_order_acquire);
}

void StartDumperBeforeProcessLimit() {
  if (t_state.busy != 0 || getpid() != g_process.pid) return;  // ours, or a vfork child's
  ErrnoKept errno_kept;
  BusyScope busy;  // the walk below (libunwind), pthread_create (allocates)
  if (MayBeInASignalHandler()) return;
  // Blocking, unlike a lazy start: a start another thread has under way
  // (haproxy's threads each set the limit at once) must be finished before
  // the limit goes in, or its clone fails.
  pthread_mutex_lock(&g_pause_lock);
  StartIfStillArmed();
  pthread_mutex_unlock(&g_pause_lock);
}

namespace {

// Ends the running thread and waits for it (a dump under way first).
// g_pause_lock held; g_stopping is left set.
void StopAndJoinThread() {
  g_stopping.store(true, std::memory_order_release);
  sem_post(&g_wake);
  pthread_join(g_thread, nullptr);
  g_thread_running.store(false, std::memory_order_relaxed);
  g_dumper_tid.store(0, std::memory_order_release);
}

}  // namespace

bool YieldDumperThreadToTheProgram() {
  rlimit tasks{};
  if (getrlimit(RLIMIT_NPROC, &tasks) != 0 || tasks.rlim_cur == RLIM_INFINITY) return false;
  if (!g_thread_running.load(std::memory_order_acquire)) return false;
  pthread_mutex_lock(&g_pause_lock);
  const bool yielded = g_thread_running.load(std::memory_order_relaxed) && !g_thread_paused;
  if (yielded) {
    // As PauseDumper, never to be resumed: failed, for the lazy start and
    // the handler.
    g_thread_failed.store(true, std::memory_order_release);
    StopAndJoinThread();
    g_stopping.store(false, std::memory_order_release);
  }
  pthread_mutex_unlock(&g_pause_lock);
  if (yielded) {
    RefreshControlBlock();  // signal_tid 0: `leaktrace snapshot` signals a program thread
    if (g_config.verbose)
      Log("the program reached its limit on processes (RLIMIT_NPROC): leaktrace's dumper thread gave its "
          "place up; snapshots by signal are written on the thread the signal interrupts, no interval snapshots");
  }
  return yielded;
}

void NoThreadsAfterPidNamespace() {
  // Failed already, as far as the lazy start and the handler are concerned,
  // so a start tried later (a resume after a user namespace) says nothing.
  g_thread_failed.store(true, std::memory_order_release);
  g_lazy_start_armed.store(false, std::memory_order_relaxed);
  g_every_event_checks_lazy_start.store(false, std::memory_order_relaxed);
}

void StopDumper() {
  g_lazy_start_armed.store(false, std::memory_order_relaxed);
  g_every_event_checks_lazy_start.store(false, std::memory_order_relaxed);
  g_stopping.store(true, std::memory_order_seq_cst);
  // The thread is not woken: the process's exit ends it wherever it waits.
  // Woken, it would exit while the exit dump runs (a futex wake, a thread's
  // exit on the other CPU), and the dump, finding one thread fewer than
  // /proc/self/status said, would list /proc/self/task to count them. A
  // wake-up that comes anyway (a snapshot signal, an interval) finds
  // g_stopping set and takes no snapshot.
}

void PauseDumper() {
  pthread_mutex_lock(&g_pause_lock);
  if (!g_thread_running) return;
  StopAndJoinThread();
  g_thread_paused = true;
}

void ResumeDumper() {
  if (g_thread_paused) {
    g_thread_paused = false;
    g_stopping.store(false, std::memory_order_release);
    StartThread();
  }
  pthread_mutex_unlock(&g_pause_lock);
}

void StopSnapshotsForSandbox() {
  RefuseSnapshots("the process is in a seccomp sandbox: leaktrace writes no snapshot there (its system calls could "
                  "kill the process)");
  pthread_mutex_lock(&g_signal_lock);
  if (g_handler_installed) {
    g_fallback_used = true;  // no real-time signal in its place: nobody would answer it
    GiveUpSnapshotSignal(/*restore=*/true);
  }
  pthread_mutex_unlock(&g_signal_lock);
  pthread_mutex_lock(&g_pause_lock);
  g_lazy_start_armed.store(false, std::memory_order_relaxed);
  g_every_event_checks_lazy_start.store(false, std::memory_order_relaxed);
  g_stopping.store(true, std::memory_order_release);
  if (g_thread_running) {
    sem_post(&g_wake);
    pthread_join(g_thread, nullptr);
    g_thread_running.store(false, std::memory_order_relaxed);
    g_dumper_tid.store(0, std::memory_order_relaxed);
  }
  g_thread_expected.store(false, std::memory_order_release);
  pthread_mutex_unlock(&g_pause_lock);
  RefreshControlBlock();  // no thread, no signal
  if (g_config.verbose)
    Log("the program enters a seccomp sandbox: leaktrace takes no more snapshots (tracking goes on in memory)");
}

LT_FORK_CHILD_CODE void DumperChildAfterFork() {
  g_pause_lock = PTHREAD_MUTEX_INITIALIZER;
  g_signal_lock = PTHREAD_MUTEX_INITIALIZER;
  g_release_pending.store(false, std::memory_order_relaxed);
  g_adopt_pending.store(false, std::memory_order_relaxed);
  g_hand_back_signal.store(0, std::memory_order_relaxed);
  // The other threads are gone; the forking thread's hold stays.
  g_threads_blocking.store(t_holds_snapshot_signal ? 1 : 0, std::memory_order_relaxed);
  g_thread_running.store(false, std::memory_order_relaxed);
  g_thread_paused = false;
  g_stopping.store(false, std::memory_order_relaxed);
  g_dumper_tid.store(0, std::memory_order_relaxed);
  g_thread_expected.store(false, std::memory_order_relaxed);  // StartThread sets it again
  g_thread_failed.store(false, std::memory_order_relaxed);
  g_lazy_start_armed.store(false, std::memory_order_relaxed);
  g_every_event_checks_lazy_start.store(false, std::memory_order_relaxed);
  sem_init(&g_wake, 0, 0);
  g_pending_signals.store(0, std::memory_order_relaxed);
  if (g_config.interval_seconds > 0 || g_config.snapshot_signal > 0) {
    ArmLazyStart(g_process.forked_monotonic_ns);
    g_every_event_checks_lazy_start.store(true, std::memory_order_relaxed);  // dumper.h says why
  }
}

}  // namespace leaktrace::preload
