#include "cli/signals.h"

#include <csignal>
#include <cstring>

#include <fmt/format.h>

namespace leaktrace::cli {

namespace {

long Decimal(std::string_view s) {
  if (s.empty() || s.size() > 9) return -1;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

int ParseSignal(std::string_view text) {
  if (long n = Decimal(text); n >= 0) return n < NSIG ? static_cast<int>(n) : -1;
  std::string_view name = text.substr(0, 3) == "SIG" ? text.substr(3) : text;
  if (name.substr(0, 5) == "RTMIN" || name.substr(0, 5) == "RTMAX") {
    bool from_min = name[3] == 'I';
    std::string_view rest = name.substr(5);
    long offset = 0;
    if (!rest.empty()) {
      if (rest[0] != '+' && rest[0] != '-') return -1;
      offset = Decimal(rest.substr(1));
      if (offset < 0) return -1;
      if (rest[0] == '-') offset = -offset;
    }
    long sig = (from_min ? SIGRTMIN : SIGRTMAX) + offset;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? static_cast<int>(sig) : -1;
  }
  if (name.empty()) return -1;
  // glibc's own table of abbreviations ("USR2" for SIGUSR2).
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  return -1;
}

std::string SignalName(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig == SIGRTMIN ? "SIGRTMIN" : fmt::format("SIGRTMIN+{}", sig - SIGRTMIN);
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return fmt::format("signal {}", sig);
}

}  // namespace leaktrace::cli
