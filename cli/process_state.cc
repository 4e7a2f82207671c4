#include "cli/process_state.h"

#include <fmt/format.h>

#include <fstream>

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

}  // namespace leaktrace::cli
