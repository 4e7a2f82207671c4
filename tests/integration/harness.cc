#include "tests/integration/harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace leaktrace::testing {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The current environment with `extra` (NAME=value) added or replaced.
std::vector<std::string> EnvironmentWith(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    bool replaced = false;
    for (const std::string& x : extra)
      if (entry.substr(0, entry.find('=') + 1) == x.substr(0, x.find('=') + 1)) replaced = true;
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

double Number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string LibraryPath() { return LEAKTRACE_TEST_LIBRARY; }
std::string ProgramPath(const std::string& name) { return std::string(LEAKTRACE_TEST_PROGRAM_DIR) + "/" + name; }

CommandResult Run(const std::vector<std::string>& argv_in, const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = EnvironmentWith(extra_env);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  pid_t pid;
  auto args = CStrings(argv);
  auto envp = CStrings(env);
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  CommandResult result;
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    result.err = std::string("cannot run ") + argv[0] + ": " + strerror(rc);
    return result;
  }
  // Small outputs only: read stderr after stdout is done.
  result.out = ReadAll(out_pipe[0]);
  result.err = ReadAll(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = DecodeStatus(status);
  return result;
}

CommandResult Leaktrace(const std::vector<std::string>& args) {
  std::vector<std::string> argv{LEAKTRACE_TEST_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, {"NO_COLOR=1"});
}

TempDir::TempDir() {
  std::string pattern = std::string(LEAKTRACE_TEST_SCRATCH) + "/dumps.XXXXXX";
  std::filesystem::create_directories(LEAKTRACE_TEST_SCRATCH);
  if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TrackedProgram::TrackedProgram(const std::vector<std::string>& argv_in, const std::string& dump_dir,
                               const std::vector<std::string>& extra_env, bool preload) {
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> extra{"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dump_dir};
  if (!preload) extra = {"LD_PRELOAD="};
  for (const std::string& e : extra_env) {
    if (e.rfind("LD_PRELOAD=", 0) == 0) {
      extra[0] = "LD_PRELOAD=" + LibraryPath() + " " + e.substr(strlen("LD_PRELOAD="));
    } else {
      extra.push_back(e);
    }
  }
  std::vector<std::string> env = EnvironmentWith(extra);
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe failed";
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  auto args = CStrings(argv);
  auto envp = CStrings(env);
  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << strerror(rc);
    pid_ = -1;
  }
  to_child_ = in_pipe[1];
  from_child_ = fdopen(out_pipe[0], "r");
}

TrackedProgram::~TrackedProgram() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait();
  }
  if (from_child_) fclose(from_child_);
  if (to_child_ >= 0) close(to_child_);
}

void TrackedProgram::ExpectCheckpoint(const std::string& name) {
  char line[256] = {};
  ASSERT_NE(fgets(line, sizeof line, from_child_), nullptr) << "program exited before checkpoint " << name;
  std::string got(line);
  while (!got.empty() && got.back() == '\n') got.pop_back();
  ASSERT_EQ(got, name);
}

std::string TrackedProgram::Snapshot() {
  const CommandResult r = Leaktrace({"snapshot", "--timeout", "30", std::to_string(pid_)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string path = r.out;
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  EXPECT_TRUE(std::filesystem::exists(path)) << "snapshot printed '" << path << "'";
  return path;
}

void TrackedProgram::Continue() {
  const char go[] = "go\n";
  ASSERT_EQ(write(to_child_, go, sizeof go - 1), static_cast<ssize_t>(sizeof go - 1));
}

std::string TrackedProgram::RestOfOutput() {
  std::string out;
  char buffer[4096];
  size_t n;
  while (from_child_ != nullptr && (n = fread(buffer, 1, sizeof buffer, from_child_)) > 0) out.append(buffer, n);
  return out;
}

int TrackedProgram::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return DecodeStatus(status);
}

Snapshots RunBetweenCheckpoints(const std::vector<std::string>& argv, const TempDir& dir,
                                const std::vector<std::string>& extra_env) {
  Snapshots s;
  TrackedProgram p(argv, dir.path(), extra_env);
  p.ExpectCheckpoint("before");
  s.before = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  s.after = p.Snapshot();
  p.Continue();
  s.exit_code = p.Wait();
  return s;
}

nlohmann::json DiffJson(const std::string& before, const std::string& after) {
  const CommandResult r = Leaktrace({"diff", "--format", "json", before, after});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "diff printed no JSON: " << e.what() << "\n" << r.out.substr(0, 2000);
    return nlohmann::json::object();
  }
}

Growth GrowthAt(const nlohmann::json& diff, const std::string& function, const std::string& module_suffix,
                const std::string& resource) {
  Growth g;
  if (!diff.contains("sites")) return g;
  for (const auto& site : diff["sites"]) {
    if (site.value("resource", "") != resource) continue;
    for (const auto& frame : site["frames"]) {
      // Inlined library code (std::vector's constructor, say) is not the
      // function that allocated: look for the first real one.
      if (!EndsWith(frame.value("module", ""), module_suffix) || frame.value("inlined", false)) continue;
      if (frame.value("function", "") == function) {
        g.bytes += Number(site, "bytes");
        g.count += Number(site, "count");
        ++g.sites;
      }
      break;  // only the innermost frame in the program's own module counts
    }
  }
  return g;
}

Growth GrowthThrough(const nlohmann::json& diff, const std::string& function, const std::string& resource) {
  Growth g;
  if (!diff.contains("sites")) return g;
  for (const auto& site : diff["sites"]) {
    if (site.value("resource", "") != resource) continue;
    for (const auto& frame : site["frames"]) {
      if (frame.value("function", "") == function) {
        g.bytes += Number(site, "bytes");
        g.count += Number(site, "count");
        ++g.sites;
        break;
      }
    }
  }
  return g;
}

}  // namespace leaktrace::testing
