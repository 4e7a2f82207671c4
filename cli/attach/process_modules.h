// The modules a process has mapped (/proc/PID/maps), to find a function in
// it: the file's symbol value plus where the process loaded the file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace leaktrace::cli::attach {

struct ProcessModule {
  std::string path;       // as the process sees it
  std::string disk_path;  // the same file, opened through /proc/PID/root
  uint64_t start = 0;     // address of its mapping at file offset 0
};

// Every file mapped at offset 0, in address order. Empty when the maps
// cannot be read.
std::vector<ProcessModule> ReadProcessModules(pid_t pid);

// The first module whose base name starts with `prefix` ("libc.so.").
std::optional<ProcessModule> FindModule(const std::vector<ProcessModule>& modules, const std::string& prefix);

// The run-time address of function `name` of `module`, or nullopt.
std::optional<uint64_t> FunctionAddress(const ProcessModule& module, const std::string& name);

}  // namespace leaktrace::cli::attach
