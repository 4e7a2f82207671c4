// Helpers for integration tests: run a real program under the real
// libleaktrace.so, step it through its checkpoints while taking snapshots
// with the real `leaktrace snapshot`, and read real `leaktrace diff` output.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace leaktrace::testing {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs `argv` to completion and captures its output.
CommandResult Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
// Runs the built `leaktrace` command.
CommandResult Leaktrace(const std::vector<std::string>& args);

// A fresh empty directory under the build tree, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A program started with LD_PRELOAD=libleaktrace.so (plus `extra_preload`
// after it) and its stdin/stdout connected to the test (step_protocol.h).
class TrackedProgram {
 public:
  // With `preload` false the program starts without the library (for
  // `leaktrace attach`, or a reference run).
  TrackedProgram(const std::vector<std::string>& argv, const std::string& dump_dir,
                 const std::vector<std::string>& extra_env = {}, bool preload = true);
  ~TrackedProgram();

  pid_t pid() const { return pid_; }
  // Waits for the program to print `name` (fails the test otherwise).
  void ExpectCheckpoint(const std::string& name);
  // Takes a snapshot with `leaktrace snapshot PID` and returns the dump path.
  std::string Snapshot();
  // Lets the program continue past its checkpoint.
  void Continue();
  // Everything the program printed after its last checkpoint, up to its end.
  std::string RestOfOutput();
  // Waits for exit; returns the exit code (128 + signal when killed).
  int Wait();

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  FILE* from_child_ = nullptr;
};

// The two snapshots of a program that stops at checkpoints "before" and
// "after" (step_protocol.h), and its exit code once let go.
struct Snapshots {
  std::string before, after;
  int exit_code = -1;
};
Snapshots RunBetweenCheckpoints(const std::vector<std::string>& argv, const TempDir& dir,
                                const std::vector<std::string>& extra_env = {});

// `leaktrace diff --format json BEFORE AFTER`, parsed.
nlohmann::json DiffJson(const std::string& before, const std::string& after);

// Sums bytes and counts of the sites of `resource` whose innermost
// non-inlined frame inside `module_suffix` (the program under test) is
// `function`.
struct Growth {
  double bytes = 0;
  double count = 0;
  int sites = 0;
};
Growth GrowthAt(const nlohmann::json& diff, const std::string& function, const std::string& module_suffix,
                const std::string& resource = "heap");
// Every site with a frame (anywhere in its stack) named `function`.
Growth GrowthThrough(const nlohmann::json& diff, const std::string& function, const std::string& resource = "heap");

std::string LibraryPath();
std::string ProgramPath(const std::string& name);

}  // namespace leaktrace::testing
