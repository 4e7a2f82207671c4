// A fixture for tests that run the built `leaktrace` on dumps of "server"
// (server_dump.h) in a directory of their own, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/cli/server_dump.h"

namespace leaktrace::cli_test {

struct Out {
  int code = -1;
  std::string out, err;
};

class CommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("leaktrace-command-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A dump of pid `pid` at `seq` (60 s apart) with one heap site of `bytes`.
  std::string Dump(uint32_t pid, uint32_t seq, double bytes) {
    std::string path = Path("server." + std::to_string(pid) + "." + std::to_string(seq) + ".dump");
    EXPECT_TRUE(ServerDump(pid, seq).SiteAt(format::Resource::kHeap, 0x1000, bytes, bytes / 16).WriteFile(path));
    return path;
  }

  // Runs `leaktrace ARGS` with no input; what it wrote and its exit code.
  Out Run(const std::string& args) {
    const std::string cmd =
        std::string(LEAKTRACE_BINARY) + " " + args + " >" + Path("out") + " 2>" + Path("err") + " </dev/null";
    int status = std::system(cmd.c_str());
    Out r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    auto slurp = [](const std::string& p) {
      std::ifstream in(p);
      std::ostringstream s;
      s << in.rdbuf();
      return s.str();
    };
    r.out = slurp(Path("out"));
    r.err = slurp(Path("err"));
    return r;
  }

  std::filesystem::path dir_;
};

inline int Lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace leaktrace::cli_test
