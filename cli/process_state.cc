#include "cli/process_state.h"

#include <fmt/format.h>
#include <sys/syscall.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "format/restarted_calls.h"

namespace leaktrace::cli {

char ProcessState(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  // The name, in parentheses, may hold spaces and parentheses itself.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return '\0';
  return line[paren + 2];
}

std::string StateObstacle(pid_t pid, char state) {
  if (state == 'Z') return fmt::format("process {} has exited (a zombie its parent has not reaped yet)", pid);
  if (state == 'T' || state == 't') return fmt::format("process {} is stopped (SIGSTOP, or a debugger holds it)", pid);
  return "";
}

pid_t PidInOwnNamespace(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    long last = 0;
    for (long v; fields >> v;) last = v;
    return last > 0 ? static_cast<pid_t>(last) : pid;
  }
  return pid;
}

pid_t TidInOurNamespace(pid_t pid, pid_t tid) {
  if (tid <= 0 || PidInOwnNamespace(pid) == pid) return tid;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    const auto ours = static_cast<pid_t>(std::atol(task.path().filename().c_str()));
    if (ours > 0 && PidInOwnNamespace(ours) == tid) return ours;
  }
  return 0;
}

bool EveryThreadBlocks(pid_t pid, int sig) {
  if (sig < 1 || sig > 64) return false;
  std::error_code ec;
  int seen = 0;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream status(task.path() / "status");
    bool blocks = false;
    for (std::string line; std::getline(status, line);)
      if (line.rfind("SigBlk:", 0) == 0) blocks = (std::stoull(line.substr(7), nullptr, 16) >> (sig - 1) & 1) != 0;
    if (!blocks) return false;
    ++seen;
  }
  return seen > 0;
}

namespace {

// StaysRunning's "call" for a running thread it could not take for one
// busy in its own code.
constexpr long kNotSeenBusy = -1;

std::string CallName(long nr) {
  switch (nr) {
    case SYS_write: return "write";
    case SYS_writev: return "writev";
    case SYS_pwrite64: return "pwrite";
    case SYS_sendto: return "send";
    case SYS_sendmsg: return "sendmsg";
    case SYS_nanosleep: return "nanosleep";
    case SYS_clock_nanosleep: return "clock_nanosleep";
    case SYS_futex: return "futex";
    case SYS_semop: return "semop";
    case SYS_semtimedop: return "semtimedop";
    case SYS_msgrcv: return "msgrcv";
    case SYS_msgsnd: return "msgsnd";
    case SYS_rt_sigtimedwait: return "sigtimedwait";
    case SYS_io_getevents: return "io_getevents";
    case SYS_connect: return "connect";
    case SYS_epoll_wait: return "epoll_wait";
    case SYS_epoll_pwait: return "epoll_pwait";
    case SYS_poll: return "poll";
    case SYS_ppoll: return "ppoll";
    case SYS_select: return "select";
    case SYS_pselect6: return "pselect";
    case SYS_pause: return "pause";
    case SYS_rt_sigsuspend: return "sigsuspend";
    case SYS_flock: return "flock";
    case SYS_fcntl: return "fcntl";
    case SYS_io_uring_enter: return "io_uring_enter";
    case SYS_splice: return "splice";
    case SYS_sendfile: return "sendfile";
    case kNotSeenBusy: return "running, maybe inside such a call or waiting for a CPU";
    default: return fmt::format("system call {}", nr);
  }
}

// What /proc/PID/task/TID/syscall says: 1 running, 0 blocked in a call
// restarted after a handler (or not in a call), -1 in another call (its
// number in *nr), -2 unreadable.
int InCall(const std::filesystem::path& task, long* nr) {
  std::ifstream file(task / "syscall");
  std::string first;
  if (!(file >> first)) return -2;
  if (first == "running") return 1;
  try {
    *nr = std::stol(first);
  } catch (const std::exception&) {
    return -2;
  }
  if (*nr < 0) return 0;  // blocked, not in a system call
  return format::RestartedAfterHandler(*nr) ? 0 : -1;
}

// What the scheduler counted for a thread: its voluntary context switches
// (each a sleep: a wait, a blocking call) and its time on a CPU in ns
// (-1 when /proc/.../schedstat cannot be read).
struct SchedulerCounts {
  long long sleeps = -1;
  long long on_cpu_ns = -1;
};

SchedulerCounts CountsOf(const std::filesystem::path& task) {
  SchedulerCounts counts;
  std::ifstream status(task / "status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0) counts.sleeps = std::atoll(line.c_str() + 24);
  std::ifstream schedstat(task / "schedstat");
  if (long long ns = 0; schedstat >> ns) counts.on_cpu_ns = ns;
  return counts;
}

// "running" says nothing of where: the thread may be in its own code, or
// in the kernel inside a call (a write copying its data, a wait about to
// sleep), which the signal would then cut short; and it says the same of a
// thread woken inside a call that waits for a CPU. A call the signal cuts
// short is one that sleeps, so a thread is taken for one busy in its own
// code when, over 20 looks in 20 ms, it is never seen in such a call,
// never slept (its voluntary context switches unchanged) and ran on a CPU
// for at least 2 ms of them (so it was not just waiting for one). One seen
// in a call the signal would cut short meanwhile is not (its call's number
// in *nr; kNotSeenBusy when none was seen but the rest does not hold).
// Without schedstat the time on a CPU is not asked.

bool StaysRunning(const std::filesystem::path& task, long* nr) {
  const SchedulerCounts before = CountsOf(task);
  for (int look = 0; look < 20; ++look) {
    if (InCall(task, nr) == -1) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  constexpr long long kBusyNs = 2'000'000;
  const SchedulerCounts after = CountsOf(task);
  long last = 0;
  const int now = InCall(task, &last);
  if (now == -1) {
    *nr = last;
    return false;
  }
  *nr = kNotSeenBusy;
  if (now != 1 || before.sleeps < 0 || after.sleeps != before.sleeps) return false;
  return before.on_cpu_ns < 0 || after.on_cpu_ns < 0 || after.on_cpu_ns - before.on_cpu_ns >= kBusyNs;
}

}  // namespace

ThreadChoice ThreadToSignal(pid_t pid, int sig) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks(fmt::format("/proc/{}/task", pid), ec);
  if (ec) return {};
  pid_t running = 0, restarted = 0, unknown_main = 0, unknown = 0, cut = 0;
  long cut_nr = 0;
  for (const auto& task : tasks) {
    pid_t tid = 0;
    try {
      tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
    } catch (const std::exception&) {
      continue;
    }
    std::ifstream status(task.path() / "status");
    char state = '\0';
    unsigned long long blocked = 0;
    bool have_mask = false;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("State:", 0) == 0) {
        const size_t at = line.find_first_not_of(" \t", 6);
        if (at != std::string::npos) state = line[at];
      } else if (line.rfind("SigBlk:", 0) == 0) {
        blocked = std::stoull(line.substr(7), nullptr, 16);
        have_mask = true;
      }
    }
    if (!have_mask || sig < 1 || sig > 64 || (blocked >> (sig - 1) & 1) != 0) continue;
    long nr = 0;
    const int in_call = InCall(task.path(), &nr);
    if (in_call == 1 || (in_call == -2 && state == 'R')) {
      if (running == 0) running = tid;
    } else if (in_call == 0) {
      if (restarted == 0 || tid == pid) restarted = tid;
    } else if (in_call == -2) {
      if (tid == pid) unknown_main = tid;
      if (unknown == 0) unknown = tid;
    } else if (cut == 0 || tid == pid) {
      cut = tid;
      cut_nr = nr;
    }
  }
  // A thread waiting in a restarted call first: the library starts its
  // dumper thread there, which writes the snapshot, and nothing is cut short.
  if (restarted != 0) return {restarted, false, ""};
  if (running != 0) {
    long nr = 0;
    if (StaysRunning(fmt::format("/proc/{}/task/{}", pid, running), &nr)) return {running, false, ""};
    if (cut == 0) {
      cut = running;
      cut_nr = nr;
    }
  }
  if (unknown_main != 0) return {unknown_main, false, ""};
  if (unknown != 0) return {unknown, false, ""};
  if (cut != 0) return {cut, true, CallName(cut_nr)};
  return {pid, false, ""};  // every thread blocks it: pending for the main thread until it unblocks
}

}  // namespace leaktrace::cli
