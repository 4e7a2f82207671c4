#include "cli/attach/permission.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace leaktrace::cli::attach {
namespace {

int ReadInt(const std::string& path, int fallback) {
  std::ifstream in(path);
  int v = fallback;
  if (!(in >> v)) return fallback;
  return v;
}

// The real uid on the "Uid:" line of /proc/PID/status, or -1.
long ProcessUid(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    long uid = -1;
    fields >> uid;
    return uid;
  }
  return -1;
}

bool HasPtraceCapability() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    const unsigned long long caps = std::stoull(line.substr(7), nullptr, 16);
    return (caps >> 19) & 1;  // CAP_SYS_PTRACE
  }
  return false;
}

}  // namespace

std::string PtraceObstacle(pid_t pid) {
  const int scope = ReadInt("/proc/sys/kernel/yama/ptrace_scope", 0);
  if (scope >= 3)
    return "ptrace is disabled on this machine (kernel.yama.ptrace_scope=3, which only a reboot lifts); leaktrace "
           "attach cannot work here: start the program with 'leaktrace run' instead";
  const bool privileged = HasPtraceCapability();
  const long uid = ProcessUid(pid);
  if (!privileged && uid >= 0 && static_cast<uid_t>(uid) != getuid())
    return fmt::format("process {} belongs to another user (uid {}); run leaktrace attach as that user or as root", pid,
                       uid);
  struct stat st;
  if (!privileged && uid > 0 && stat(fmt::format("/proc/{}", pid).c_str(), &st) == 0 && st.st_uid == 0)
    return fmt::format("process {} is not dumpable (it called prctl(PR_SET_DUMPABLE, 0), or runs setuid/setgid), so "
                       "only root can attach to it",
                       pid);
  if (scope == 2 && !privileged)
    return "kernel.yama.ptrace_scope=2 lets only root (CAP_SYS_PTRACE) attach to a process; run leaktrace attach as "
           "root";
  if (scope == 1 && !privileged)
    return fmt::format("kernel.yama.ptrace_scope=1 lets a process be traced only by its ancestors; run leaktrace "
                       "attach as root, or with CAP_SYS_PTRACE, or set kernel.yama.ptrace_scope=0 (process {})",
                       pid);
  return "";
}

std::string ExplainPtraceDenied(pid_t pid) {
  std::string why = PtraceObstacle(pid);
  if (!why.empty()) return why;
  return fmt::format("not allowed to ptrace process {} (is it already traced, by a debugger or strace? a container "
                     "without CAP_SYS_PTRACE, or a seccomp or LSM policy, also forbids it)",
                     pid);
}

}  // namespace leaktrace::cli::attach
