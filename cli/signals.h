// Signal names as LEAKTRACE_SIGNAL accepts them.
#pragma once

#include <string>
#include <string_view>

namespace leaktrace::cli {

// "SIGUSR2", "USR2", "SIGRTMIN+3", "RTMAX-1", "12", "0" -> number; -1 when
// invalid. The same grammar as the preload library's parser.
int ParseSignal(std::string_view text);

// "SIGUSR2", "SIGRTMIN+3", or "signal 77".
std::string SignalName(int sig);

}  // namespace leaktrace::cli
