#include "preload/snapshot/process_info.h"
#include "preload/internal/compiler.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "preload/internal/private_fds.h"
#include "preload/internal/errno_kept.h"
#include "preload/internal/mode.h"
#include "preload/record/thread_state.h"
#include "preload/internal/kernel_clock.h"
#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {

// Its first fields, which a fork child writes, on the fork state's page.
LT_FORK_STATE_HEAD ProcessFacts g_process;

namespace {

// ExePath: 0 not read, 1 being read (by one thread), 2 read.
constexpr int kExeUnread = 0, kExeReading = 1, kExeRead = 2;
LT_FORK_STATE std::atomic<int> g_exe_state{kExeUnread};

int64_t ClockNs(clockid_t clock) {
  return KernelClockNs(clock);
}
}  // namespace

int64_t RealtimeNs() { return ClockNs(CLOCK_REALTIME); }
int64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }

LT_FORK_CHILD_CODE void RefreshProcessIds() {
  g_process.ppid = g_process.pid;  // the process that forked this one
  g_process.pid = getpid();
  // The thread reading it in the parent is not in the child: read it again.
  if (g_exe_state.load(std::memory_order_relaxed) == kExeReading)
    g_exe_state.store(kExeUnread, std::memory_order_relaxed);
}

const char* ExePath() {
  int state = g_exe_state.load(std::memory_order_acquire);
  if (LT_LIKELY(state == kExeRead)) return g_process.exe_path;
  if (state == kExeUnread &&
      g_exe_state.compare_exchange_strong(state, kExeReading, std::memory_order_acq_rel)) {
    const ssize_t n = RawSyscall(SYS_readlink, "/proc/self/exe", g_process.exe_path, sizeof g_process.exe_path - 1);
    size_t size = n > 0 ? static_cast<size_t>(n) : 0;
    // Read late, the link of an executable deleted or replaced since the
    // start says so; the path it was started from is the one wanted.
    static constexpr char kDeleted[] = " (deleted)";
    constexpr size_t kDeletedSize = sizeof kDeleted - 1;
    if (size > kDeletedSize && memcmp(g_process.exe_path + size - kDeletedSize, kDeleted, kDeletedSize) == 0)
      size -= kDeletedSize;
    g_process.exe_path[size] = '\0';
    g_exe_state.store(kExeRead, std::memory_order_release);
    return g_process.exe_path;
  }
  // Another thread is reading it: one system call's wait.
  while (g_exe_state.load(std::memory_order_acquire) != kExeRead) sched_yield();
  return g_process.exe_path;
}

void ReadExePathBeforeRootMoves() {
  if (LT_LIKELY(g_exe_state.load(std::memory_order_acquire) == kExeRead)) return;
  ErrnoKept errno_kept;  // readlink's failure is not the call's
  BusyScope busy;        // a snapshot from a signal handler must not wait for this read (ExePath)
  ExePath();
}

void GatherProcessFacts(int argc, char** argv) {
  g_process.pid = getpid();
  g_process.ppid = getppid();
  g_process.start_realtime_ns = RealtimeNs();
  g_process.start_monotonic_ns = MonotonicNs();
  if (argv != nullptr) {
    // The arguments as /proc/self/cmdline shows them: each with its NUL.
    for (int i = 0; i < argc && argv[i] != nullptr && g_process.cmdline_size < sizeof g_process.cmdline; ++i) {
      const size_t room = sizeof g_process.cmdline - g_process.cmdline_size;
      const size_t size = strnlen(argv[i], room - 1) + 1;
      memcpy(g_process.cmdline + g_process.cmdline_size, argv[i], size);
      g_process.cmdline_size += size;
    }
  } else {
    // Private: this may run on any thread of a running program (private_fds.h).
    const int fd = OpenPrivateFd("/proc/self/cmdline", O_RDONLY, 0, nullptr);
    if (fd >= 0) {
      ssize_t got;
      while (g_process.cmdline_size < sizeof g_process.cmdline &&
             (got = read(fd, g_process.cmdline + g_process.cmdline_size,
                         sizeof g_process.cmdline - g_process.cmdline_size)) > 0)
        g_process.cmdline_size += static_cast<size_t>(got);
      ClosePrivateFd(fd);
    }
  }
  while (g_process.cmdline_size > 0 && g_process.cmdline[g_process.cmdline_size - 1] == '\0') --g_process.cmdline_size;
  // The name the program was started as (argv[0]) beats the file it resolves
  // to: Debian's redis-server is a symlink to redis-check-rdb.
  if (g_process.cmdline_size > 0 && g_process.cmdline[0] != '\0') {
    const char* argv0 = g_process.cmdline;
    // Attached to a running program, argv[0] may be a process title it
    // wrote over its arguments ("redis-server 127.0.0.1:6379", "nginx:
    // master process ..."): its first word, without a trailing colon.
    char first_word[sizeof g_process.program];
    if (g_attached) {
      size_t k = 0;
      while (k < sizeof first_word - 1 && argv0[k] != '\0' && argv0[k] != ' ') first_word[k] = argv0[k], ++k;
      while (k > 1 && first_word[k - 1] == ':') --k;
      first_word[k] = '\0';
      argv0 = first_word;
    }
    const char* name = strrchr(argv0, '/');
    name = name ? name + 1 : argv0;
    // A login shell's "-bash": a dump named -bash.PID.1.dump reads as an
    // option to every command that takes it (`leaktrace report -bash...`).
    while (*name == '-') ++name;
    const size_t size = strnlen(name, sizeof g_process.program - 1);
    if (size > 0) {
      for (size_t i = 0; i < size; ++i) {
        const char c = name[i];
        g_process.program[i] = (c == ' ' || c == '\t' || c == '\n') ? '_' : c;
      }
      g_process.program[size] = '\0';
    }
  }
  if (g_process.program[0] == '\0') {
    // No argv[0] (an exec with an empty argument list): the executable's name.
    const char* exe = ExePath();
    const char* slash = strrchr(exe, '/');
    const char* base = slash ? slash + 1 : exe;
    const size_t base_size = strnlen(base, sizeof g_process.program - 1);
    memcpy(g_process.program, base, base_size);
    g_process.program[base_size] = '\0';
    if (g_process.program[0] == '\0') strcpy(g_process.program, "unknown");
  }
}

}  // namespace leaktrace::preload
