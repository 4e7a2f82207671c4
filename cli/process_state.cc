#include "cli/process_state.h"

#include <fmt/format.h>

#include <filesystem>
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

pid_t ThreadToSignal(pid_t pid, int sig) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks(fmt::format("/proc/{}/task", pid), ec);
  if (ec) return 0;
  pid_t running = 0, other = 0;
  bool main_takes_it = false;
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
    if (state == 'R' && running == 0) running = tid;
    if (tid == pid) main_takes_it = true;
    if (other == 0) other = tid;
  }
  if (running != 0) return running;
  if (main_takes_it) return pid;
  return other != 0 ? other : pid;
}

}  // namespace leaktrace::cli
