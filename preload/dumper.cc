#include "preload/dumper.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "preload/log.h"
#include "preload/process_info.h"
#include "preload/snapshot.h"
#include "preload/thread_state.h"
#include "preload/tracker.h"

namespace leaktrace::preload {
namespace {

sem_t g_wake;
std::atomic<bool> g_stopping{false};
std::atomic<int> g_pending_signals{0};
std::atomic<int> g_dumper_tid{0};
// The dumper thread is joinable so it can be stopped around the program's
// privilege changes (PauseDumper). Guarded by g_pause_lock after start-up.
pthread_t g_thread;
bool g_thread_running = false;
bool g_thread_paused = false;
pthread_mutex_t g_pause_lock = PTHREAD_MUTEX_INITIALIZER;
bool g_handler_installed = false;

void OnSnapshotSignal(int) { RequestSnapshot(); }

void* DumperMain(void*) {
  ++t_state.busy;  // nothing this thread allocates is the program's
  // The one signal this thread takes is the snapshot signal: sent to this
  // thread alone (`leaktrace snapshot` uses tgkill with the tid published in
  // the control block), it interrupts none of the program's system calls.
  g_dumper_tid.store(static_cast<int>(gettid()), std::memory_order_relaxed);
  if (g_config.snapshot_signal > 0) {
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, g_config.snapshot_signal);
    pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  }
  RefreshControlBlock();
  const uint32_t interval = g_config.interval_seconds;
  timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  next.tv_sec += interval;
  while (!g_stopping.load(std::memory_order_acquire)) {
    int rc = interval ? sem_clockwait(&g_wake, CLOCK_MONOTONIC, &next) : sem_wait(&g_wake);
    if (g_stopping.load(std::memory_order_acquire)) break;
    if (rc == 0) {
      // Several signals while one dump was written ask for one more dump; a
      // wake-up with no request behind it (a stop, see PauseDumper) for none.
      while (sem_trywait(&g_wake) == 0) {
      }
      if (g_pending_signals.exchange(0, std::memory_order_acq_rel) > 0) WriteSnapshot(format::Trigger::kSignal);
    } else if (errno == ETIMEDOUT) {
      WriteSnapshot(format::Trigger::kInterval);
      next.tv_sec += interval;
      timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (next.tv_sec <= now.tv_sec) next = now, next.tv_sec += interval;  // fell behind: no burst
    }
  }
  return nullptr;
}

void StartThread() {
  // The thread must not take the program's signals: block them all in it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  if (pthread_create(&g_thread, &attr, DumperMain, nullptr) != 0) {
    Log("cannot start the dumper thread; only the exit snapshot will be written");
  } else {
    g_thread_running = true;
    pthread_setname_np(g_thread, "leaktrace-dump");
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

int DumperThreadId() { return g_dumper_tid.load(std::memory_order_relaxed); }

void NoticeProgramHandler(int sig, void* handler) {
  if (!g_handler_installed || sig != g_config.snapshot_signal) return;
  if (handler == reinterpret_cast<void*>(&OnSnapshotSignal)) return;  // ours, put back
  // A vfork child (posix_spawn, some process libraries) shares our memory:
  // what it does to its signals before exec is not this process's business.
  if (getpid() != g_process.pid) return;
  g_handler_installed = false;
  g_config.snapshot_signal = 0;
  // Resetting to SIG_DFL/SIG_IGN is what a child does right before exec
  // (cmake, libuv): say nothing there, its stderr may be captured. A real
  // handler is the program taking the signal over: say so, once.
  if (handler != reinterpret_cast<void*>(SIG_DFL) && handler != reinterpret_cast<void*>(SIG_IGN)) {
    Log("the program installs its own handler for signal %d: leaktrace snapshots by signal are off "
        "(choose another with LEAKTRACE_SIGNAL; interval and exit snapshots go on)", sig);
  }
  RefreshControlBlock();
}

void RequestSnapshot() {
  const int saved_errno = errno;
  g_pending_signals.fetch_add(1, std::memory_order_acq_rel);
  sem_post(&g_wake);
  errno = saved_errno;
}

void StartDumper() {
  sem_init(&g_wake, 0, 0);
  const int sig = g_config.snapshot_signal;
  if (sig > 0 && !g_handler_installed) {
    struct sigaction current = {};
    sigaction(sig, nullptr, &current);
    if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) {
      Log("the program already handles signal %d; leaktrace leaves it alone (use LEAKTRACE_SIGNAL to pick another)", sig);
    } else {
      struct sigaction action = {};
      action.sa_handler = OnSnapshotSignal;
      action.sa_flags = SA_RESTART;
      sigemptyset(&action.sa_mask);
      g_handler_installed = sigaction(sig, &action, nullptr) == 0;
    }
  }
  if (sig > 0 || g_config.interval_seconds > 0) StartThread();
}

void StopDumper() {
  g_stopping.store(true, std::memory_order_release);
  sem_post(&g_wake);
}

void PauseDumper() {
  pthread_mutex_lock(&g_pause_lock);
  if (!g_thread_running) return;
  g_stopping.store(true, std::memory_order_release);
  sem_post(&g_wake);
  pthread_join(g_thread, nullptr);  // waits out a dump under way
  g_thread_running = false;
  g_thread_paused = true;
  g_dumper_tid.store(0, std::memory_order_relaxed);
}

void ResumeDumper() {
  if (g_thread_paused) {
    g_thread_paused = false;
    g_stopping.store(false, std::memory_order_release);
    StartThread();
  }
  pthread_mutex_unlock(&g_pause_lock);
}

void DumperChildAfterFork() {
  pthread_mutex_init(&g_pause_lock, nullptr);
  g_thread_running = false;
  g_thread_paused = false;
  g_stopping.store(false, std::memory_order_relaxed);
  g_dumper_tid.store(0, std::memory_order_relaxed);
  sem_init(&g_wake, 0, 0);
  if (g_config.snapshot_signal > 0 || g_config.interval_seconds > 0) StartThread();
}

}  // namespace leaktrace::preload
