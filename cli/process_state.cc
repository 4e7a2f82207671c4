#include "cli/process_state.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

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

}  // namespace leaktrace::cli
