// `leaktrace export --format pprof` on dumps written by the real DumpWriter:
// what lands in the file (parsed back), growth with --base, and refusals
// (exit 2, one line), including refusing to write binary to a terminal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reporter/pprof/gzip.h"
#include "reporter/pprof/profile.pb.h"
#include "tests/cli/server_dump.h"

namespace leaktrace::cli_test {
namespace {

namespace fs = std::filesystem;

class PprofCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("leaktrace-pprof-cli-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A dump of pid 100 at `seq` with one heap site of `bytes` and one fd site.
  std::string Dump(uint32_t seq, double bytes) {
    std::string path = Path("server.100." + std::to_string(seq) + ".dump");
    EXPECT_TRUE(ServerDump(100, seq)
                    .SiteAt(format::Resource::kHeap, 0x1000, bytes, bytes / 16)
                    .SiteAt(format::Resource::kFd, 0x2000, 0, 2, 0, "pipe")
                    .WriteFile(path));
    return path;
  }

  // Runs leaktrace with `args`; stdout goes to `stdout_to` (a file by default).
  int Run(const std::string& args, std::string* err = nullptr, const std::string& stdout_to = "") {
    const std::string out = stdout_to.empty() ? Path("out") : stdout_to;
    const std::string cmd = std::string(LEAKTRACE_BINARY) + " " + args + " >" + out + " 2>" + Path("err") + " </dev/null";
    const int status = std::system(cmd.c_str());
    if (err) *err = Slurp(Path("err"));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static perftools::profiles::Profile Parse(const std::string& gz) {
    perftools::profiles::Profile p;
    EXPECT_TRUE(p.ParseFromString(reporter::pprof::Gunzip(gz)));
    return p;
  }

 private:
  fs::path dir_;
};

int64_t Total(const perftools::profiles::Profile& p, const std::string& type) {
  int index = -1;
  for (int i = 0; i < p.sample_type_size(); ++i)
    if (p.string_table(static_cast<int>(p.sample_type(i).type())) == type) index = i;
  EXPECT_GE(index, 0) << type;
  int64_t sum = 0;
  for (const auto& s : p.sample()) sum += index >= 0 ? s.value(index) : 0;
  return sum;
}

TEST_F(PprofCliTest, WritesTheDumpsFiguresToStdoutOrFile) {
  const std::string a = Dump(1, 1000), b = Dump(2, 4000);
  std::string err;
  ASSERT_EQ(Run("export --format pprof " + b, &err), 0) << err;
  const perftools::profiles::Profile live = Parse(Slurp(Path("out")));
  EXPECT_EQ(Total(live, "inuse_space"), 4000);
  EXPECT_EQ(Total(live, "inuse_objects"), 250);
  ASSERT_EQ(live.mapping_size(), 1);
  EXPECT_EQ(live.string_table(static_cast<int>(live.mapping(0).filename())), "/nonexistent/leaktrace-test/server");

  ASSERT_EQ(Run("export --format pprof --base " + a + " -o " + Path("growth.pb.gz") + " " + b, &err), 0) << err;
  EXPECT_EQ(Total(Parse(Slurp(Path("growth.pb.gz"))), "inuse_space"), 3000);

  ASSERT_EQ(Run("export --format pprof --resource fd -o " + Path("fd.pb.gz") + " " + b, &err), 0) << err;
  const perftools::profiles::Profile fds = Parse(Slurp(Path("fd.pb.gz")));
  EXPECT_EQ(Total(fds, "inuse_fds"), 2);
  ASSERT_EQ(fds.sample_size(), 1);
  ASSERT_EQ(fds.sample(0).label_size(), 1);
  EXPECT_EQ(fds.string_table(static_cast<int>(fds.sample(0).label(0).str())), "pipe");
}

TEST_F(PprofCliTest, RefusesToWriteBinaryToATerminal) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const std::string tty = ptsname(master);
  std::string err;
  EXPECT_EQ(Run("export --format pprof " + Dump(1, 1000), &err, tty), 2);
  EXPECT_NE(err.find("-o FILE"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  close(master);
}

TEST_F(PprofCliTest, BadUsageIsExit2) {
  const std::string a = Dump(1, 1000);
  for (const std::string& cmd : {"export --format pprof " + Path("none"),
                                 "export --format pprof -o /nonexistent-dir/x.pb.gz " + a,
                                 "export --format pprof --base " + a + " " + a + " " + a,
                                 "export --format pprof --base " + Path("none") + " " + a}) {
    std::string err;
    EXPECT_EQ(Run(cmd, &err), 2) << cmd;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << cmd << "\n" << err;
  }
}

}  // namespace
}  // namespace leaktrace::cli_test
