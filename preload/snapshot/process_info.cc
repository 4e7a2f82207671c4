#include "preload/snapshot/process_info.h"
#include "preload/internal/compiler.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "preload/internal/private_fds.h"
#include "preload/internal/mode.h"

namespace leaktrace::preload {

// Its first fields, which a fork child writes, on the fork state's page.
LT_FORK_STATE_HEAD ProcessFacts g_process;

namespace {
int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

int64_t RealtimeNs() { return ClockNs(CLOCK_REALTIME); }
int64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }

LT_FORK_CHILD_CODE void RefreshProcessIds() {
  g_process.ppid = g_process.pid;  // the process that forked this one
  g_process.pid = getpid();
}

void GatherProcessFacts() {
  g_process.pid = getpid();
  g_process.ppid = getppid();
  g_process.start_realtime_ns = RealtimeNs();
  g_process.start_monotonic_ns = MonotonicNs();
  const ssize_t n = readlink("/proc/self/exe", g_process.exe_path, sizeof g_process.exe_path - 1);
  g_process.exe_path[n > 0 ? n : 0] = '\0';
  const char* slash = strrchr(g_process.exe_path, '/');
  const char* base = slash ? slash + 1 : g_process.exe_path;
  const size_t base_size = strnlen(base, sizeof g_process.program - 1);
  memcpy(g_process.program, base, base_size);
  g_process.program[base_size] = '\0';
  if (g_process.program[0] == '\0') strcpy(g_process.program, "unknown");
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
    const size_t size = strnlen(name, sizeof g_process.program - 1);
    if (size > 0) {
      for (size_t i = 0; i < size; ++i) {
        const char c = name[i];
        g_process.program[i] = (c == ' ' || c == '\t' || c == '\n') ? '_' : c;
      }
      g_process.program[size] = '\0';
    }
  }
}

}  // namespace leaktrace::preload
