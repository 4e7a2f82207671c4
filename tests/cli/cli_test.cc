// Runs the built `leaktrace` binary: exit codes, one-line errors, and the
// output of each command on real dump files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/cli/server_dump.h"

extern char** environ;

namespace leaktrace::cli_test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr format::Resource kHeap = format::Resource::kHeap, kFd = format::Resource::kFd;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int Lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("leaktrace-cli-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs leaktrace with `args`; `env` entries (KEY=VALUE) are added.
  // The command's exit code, or 1000 + the signal that ended it; with
  // `stopped_fails`, 2000 when it stopped (a stopped process never ends:
  // it is killed instead of waited for).
  Result Run(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
             bool stopped_fails = false) {
    std::vector<std::string> argv_s = {LEAKTRACE_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.push_back(*e);
    env_s.insert(env_s.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (std::string& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    std::string out_path = Path("stdout.txt"), err_path = Path("stderr.txt");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    Result r;
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) return r;
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    waitpid(pid, &status, stopped_fails ? WUNTRACED : 0);
    if (WIFSTOPPED(status)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.code = 2000;
    } else {
      r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
    }
    r.out = Slurp(out_path);
    r.err = Slurp(err_path);
    return r;
  }

  // Runs any program (not leaktrace) the same way.
  Result RunProgram(const std::vector<std::string>& argv_in) {
    std::vector<std::string> a = argv_in;
    std::vector<char*> argv;
    for (std::string& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::string out_path = Path("prog-stdout.txt"), err_path = Path("prog-stderr.txt");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    Result r;
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) return r;
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
    r.out = Slurp(out_path);
    r.err = Slurp(err_path);
    return r;
  }

  // Asserts the contract for failures: the code, and exactly one stderr line.
  void ExpectError(const Result& r, int code, const std::string& mentions = "") {
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_EQ(Lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("leaktrace: ", 0), 0u) << r.err;
    if (!mentions.empty()) {
      EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
    }
  }

  std::string Dump(const std::string& name, const test_support::DumpBuilder& dump) {
    std::string p = Path(name);
    EXPECT_TRUE(dump.WriteFile(p));
    return p;
  }

  fs::path dir_;
};

// --- usage -----------------------------------------------------------------

TEST_F(CliTest, NoCommand) { ExpectError(Run({}), 2); }

TEST_F(CliTest, UnknownOptionsAndCommands) {
  ExpectError(Run({"--bogus"}), 2, "--bogus");
  ExpectError(Run({"frobnicate"}), 2);
  ExpectError(Run({"report", "--bogus", "x.dump"}), 2, "--bogus");
  ExpectError(Run({"diff", "only-one.dump"}), 2);
  ExpectError(Run({"report", "--format", "xml", "x.dump"}), 2);
  ExpectError(Run({"check", "--max-bytes", "12q", "a", "b"}), 2, "12q");
  ExpectError(Run({"report", "--top", "many", "x.dump"}), 2);
}

TEST_F(CliTest, VersionAndHelp) {
  Result v = Run({"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("leaktrace ", 0), 0u);
  for (const char* cmd : {"run", "snapshot", "report", "diff", "check"}) {
    Result h = Run({cmd, "--help"});
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_NE(h.out.find("Usage"), std::string::npos) << cmd;
  }
  EXPECT_EQ(Run({"--help"}).code, 0);
}

// issue 14, CLI polish: help as people type it, one example per command, no
// parser types, clear errors for help/-V/unknown commands and bad numbers.
TEST_F(CliTest, HelpAndPolish) {
  for (const char* cmd : {"run", "attach", "snapshot", "report", "diff", "check", "trend", "export"}) {
    Result h = Run({cmd, "--help"});
    EXPECT_EQ(h.code, 0) << cmd;
    size_t usage = 0, pos = 0;
    while ((pos = h.out.find("Usage", pos)) != std::string::npos) ++usage, ++pos;
    EXPECT_EQ(usage, 1u) << h.out;
    EXPECT_NE(h.out.find("Example:\n  leaktrace "), std::string::npos) << h.out;
    EXPECT_NE(h.out.find("Exit status: "), std::string::npos) << h.out;
    for (const char* leak : {"TEXT", "REQUIRED", "POSITIVE", "docs/cli.md", "UINT", "INT "})
      EXPECT_EQ(h.out.find(leak), std::string::npos) << cmd << ": " << leak << "\n" << h.out;
  }
  Result run = Run({"run", "--help"});
  EXPECT_NE(run.out.find("Usage: leaktrace run [OPTIONS] -- CMD [ARGS...]\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Exit status: the program's own"), std::string::npos) << run.out;
  EXPECT_NE(Run({"snapshot", "--help"}).out.find("--timeout S=30"), std::string::npos);

  Result help = Run({"help"});
  EXPECT_EQ(help.code, 0) << help.err;
  EXPECT_NE(help.out.find("Usage: leaktrace"), std::string::npos);
  Result help_diff = Run({"help", "diff"});
  EXPECT_EQ(help_diff.code, 0) << help_diff.err;
  EXPECT_NE(help_diff.out.find("Usage: leaktrace diff"), std::string::npos) << help_diff.out;
  Result v = Run({"-V"});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(v.out.rfind("leaktrace ", 0), 0u);
  ExpectError(Run({"frobnicate"}), 2, "unknown command 'frobnicate'");

  std::string d = Dump("s.1.1.dump", ServerDump().SiteAt(kHeap, 0x1000, 1, 1));
  ExpectError(Run({"report", "--top", "-1", d}), 2, "--top: '-1'");
  ExpectError(Run({"report", "--top", "99999999999999999999", d}), 2, "--top");
  ExpectError(Run({"report", "--depth", "-2", d}), 2, "--depth");
  Result t0 = Run({"snapshot", "--timeout", "0", "1"});
  ExpectError(t0, 2, "--timeout: '0' is not a number of seconds > 0");
  EXPECT_LT(t0.err.size(), 120u) << t0.err;
}

// --- unreadable input ----------------------------------------------------------

TEST_F(CliTest, MissingEmptyGarbageAndDirectoryInputs) {
  std::string missing = Path("missing.dump");
  std::string empty = Path("empty.dump");
  std::ofstream(empty).close();
  std::string garbage = Path("garbage.dump");
  std::ofstream(garbage) << "this is not a dump, not even close\n" << std::string(200, 'x');
  std::string truncated = Path("truncated.dump");
  std::string good = Dump("good.dump", ServerDump().SiteAt(kHeap, 0x1000, 64, 1));
  std::string bytes = Slurp(good);
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);

  for (const std::string& bad : {missing, empty, garbage, truncated, dir_.string()}) {
    ExpectError(Run({"report", bad}), 2, bad);
    ExpectError(Run({"report", "--format", "json", good, bad}), 2, bad);
    ExpectError(Run({"diff", good, bad}), 2, bad);
    ExpectError(Run({"check", bad, good}), 2, bad);
  }
}

// --- report / diff ---------------------------------------------------------------

TEST_F(CliTest, ReportJsonShape) {
  std::string d = Dump("server.100.1.dump",
                       ServerDump().SiteAt(kHeap, 0x1000, 4800, 100).SiteAt(kFd, 0x2000, 0, 3, 0, "socket"));
  Result r = Run({"report", "--format", "json", d});
  ASSERT_EQ(r.code, 0) << r.err;
  json doc = json::parse(r.out);
  ASSERT_EQ(doc["sites"].size(), 2u);
  EXPECT_EQ(doc["sites"][0]["resource"], "heap");
  EXPECT_EQ(doc["sites"][0]["bytes"], 4800);
  EXPECT_EQ(doc["sites"][0]["count"], 100);
  ASSERT_FALSE(doc["sites"][0]["frames"].empty());
  const json& frame = doc["sites"][0]["frames"][0];
  EXPECT_TRUE(frame["function"].is_string());
  EXPECT_EQ(frame["module"], "/nonexistent/leaktrace-test/server");
  EXPECT_FALSE(frame.contains("file"));  // no debug information
  EXPECT_EQ(doc["sites"][1]["resource"], "fd");
  EXPECT_EQ(doc["sites"][1]["count"], 3);
}

TEST_F(CliTest, ReportTextAndMerge) {
  std::string a = Dump("server.100.1.dump", ServerDump(100).SiteAt(kHeap, 0x1000, 4800, 100));
  std::string b = Dump("server.101.1.dump", ServerDump(101, 1, 0x560000000000).SiteAt(kHeap, 0x1000, 200, 2));
  Result r = Run({"report", a, b});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("4.9 KiB in 102 allocations"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("server+0x"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\033'), std::string::npos);  // not a terminal: no colour
}

TEST_F(CliTest, DiffAcrossRunsJson) {
  std::string before = Dump("server.100.1.dump",
                            ServerDump(100, 1).SiteAt(kHeap, 0x1000, 1000, 10).SiteAt(kHeap, 0x2000, 500, 5));
  std::string after = Dump("server.200.2.dump", ServerDump(200, 2, 0x563200000000)
                                                 .SiteAt(kHeap, 0x1000, 5800, 110)
                                                 .SiteAt(kHeap, 0x2000, 100, 1));
  Result r = Run({"diff", "--format", "json", before, after});
  ASSERT_EQ(r.code, 0) << r.err;
  json doc = json::parse(r.out);
  ASSERT_EQ(doc["sites"].size(), 2u);
  EXPECT_EQ(doc["sites"][0]["bytes"], 4800);
  EXPECT_EQ(doc["sites"][0]["count"], 100);
  EXPECT_EQ(doc["sites"][1]["bytes"], -400);

  Result text = Run({"diff", before, after});
  ASSERT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("+4.7 KiB"), std::string::npos) << text.out;
}

// issue 14: dumps of two different programs are refused unless --force;
// two runs of one program, exact against sampled, and swapped arguments
// each get one warning line.
// Warning lines about the pair of dumps (not about their test modules, which
// do not exist on disk).
int DiffWarnings(const std::string& err) {
  int n = 0;
  size_t pos = 0;
  while (pos < err.size()) {
    size_t end = err.find('\n', pos);
    if (end == std::string::npos) end = err.size();
    const std::string line = err.substr(pos, end - pos);
    n += line.find("warning:") != std::string::npos && line.find("cannot open") == std::string::npos;
    pos = end + 1;
  }
  return n;
}

TEST_F(CliTest, DiffOfDifferentProgramsIsRefusedUnlessForced) {
  std::string before = Dump("a.1.1.dump", test_support::DumpBuilder("alpha")
                                               .Exact()
                                               .MainProgram(kServerModule, 0x555500000000, "\xde\xad\xbe\xef")
                                               .SiteAt(kHeap, 0x1000, 1, 1));
  std::string after = Dump("b.1.2.dump", test_support::DumpBuilder("beta", 100, 2)
                                              .Exact()
                                              .MainProgram("/nonexistent/leaktrace-test/beta", 0x555500000000, "\xde\xad\xbe\xef")
                                              .SiteAt(kHeap, 0x1000, 1, 1));
  ExpectError(Run({"diff", before, after}), 2, "different programs");
  EXPECT_NE(Run({"diff", before, after}).err.find("--force"), std::string::npos);
  ExpectError(Run({"check", before, after}), 2, "different programs");
  Result forced = Run({"diff", "--force", before, after});
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(DiffWarnings(forced.err), 1) << forced.err;
  EXPECT_NE(forced.err.find("warning"), std::string::npos) << forced.err;
}

// One executable is one program whatever name a run went by: a server whose
// process title ("nginx: master process") named the dumps of an attach.
TEST_F(CliTest, DiffOfOneExecutableUnderTwoNamesIsNotRefused) {
  std::string preloaded = Dump("nginx.1.1.dump", test_support::DumpBuilder("nginx")
                                                     .Exact()
                                                     .ExePath("/usr/sbin/nginx")
                                                     .MainProgram(kServerModule, 0x555500000000, "\xde\xad\xbe\xef")
                                                     .SiteAt(kHeap, 0x1000, 1, 1));
  std::string titled = Dump("nginx-title.1.2.dump", test_support::DumpBuilder("nginx:", 1, 2)
                                                        .Exact()
                                                        .ExePath("/usr/sbin/nginx")
                                                        .MainProgram(kServerModule, 0x555500000000, "\xde\xad\xbe\xef")
                                                        .SiteAt(kHeap, 0x1000, 3, 1));
  Result r = Run({"diff", preloaded, titled});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("different programs"), std::string::npos) << r.err;
}

TEST_F(CliTest, DiffWarnsOnceAboutTwoRunsMixedModesAndSwappedArguments) {
  std::string run1 = Dump("s.100.1.dump", ServerDump().SiteAt(kHeap, 0x1000, 1, 1));
  std::string run2 = Dump("s.200.2.dump", ServerDump(200, 2).SiteAt(kHeap, 0x1000, 5, 1));
  Result r = Run({"diff", run1, run2});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(DiffWarnings(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("two runs of server (pids 100 and 200)"), std::string::npos) << r.err;

  std::string sampled = Dump("s.100.3.dump", ServerDump(100, 3).Exact(false).SiteAt(kHeap, 0x1000, 5, 1));
  r = Run({"diff", run1, sampled});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(DiffWarnings(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("is exact but"), std::string::npos) << r.err;

  std::string later = Dump("s.100.2.dump", ServerDump(100, 2).SiteAt(kHeap, 0x1000, 5, 1));
  r = Run({"diff", later, run1});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(DiffWarnings(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("was taken 60.0 s after"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("unknown interval"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("growth over 60.0 s backwards: BEFORE is the later snapshot"), std::string::npos) << r.out;
}

// --- check ------------------------------------------------------------------------

TEST_F(CliTest, CheckExitCodes) {
  std::string before = Dump("s.1.1.dump", ServerDump(100, 1).SiteAt(kHeap, 0x1000, 1000, 10));
  std::string same = Dump("s.1.2.dump", ServerDump(100, 2).SiteAt(kHeap, 0x1000, 1000, 10));
  std::string grown = Dump("s.1.3.dump", ServerDump(100, 3).SiteAt(kHeap, 0x1000, 9000, 90));
  std::string fds = Dump("s.1.4.dump", ServerDump(100, 4).SiteAt(kHeap, 0x1000, 1000, 10).SiteAt(kFd, 0x3000, 0, 2));

  EXPECT_EQ(Run({"check", before, same}).code, 0);
  Result failed = Run({"check", before, grown});
  EXPECT_EQ(failed.code, 1);
  EXPECT_NE(failed.out.find("FAILED"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("server+0x1000"), std::string::npos) << failed.out;  // the offending site
  EXPECT_EQ(Run({"check", "--max-bytes", "8k", before, grown}).code, 0);
  EXPECT_EQ(Run({"check", "--max-bytes", "7k", before, grown}).code, 1);
  EXPECT_EQ(Run({"check", "--max-site-bytes", "1k", before, grown}).code, 1);
  EXPECT_EQ(Run({"check", before, fds}).code, 1);
  EXPECT_EQ(Run({"check", "--max-fds", "2", before, fds}).code, 0);

  std::string supp = Path("supp.txt");
  std::ofstream(supp) << "# known\nleak:leaktrace-test/server\n";
  EXPECT_EQ(Run({"check", "--suppressions", supp, before, grown}).code, 0);
  std::string bad_supp = Path("bad-supp.txt");
  std::ofstream(bad_supp) << "race:x\n";
  ExpectError(Run({"check", "--suppressions", bad_supp, before, grown}), 2, "bad-supp.txt:1");
  ExpectError(Run({"check", "--suppressions", Path("nope.txt"), before, grown}), 2, "nope.txt");
}

TEST_F(CliTest, CheckFormats) {
  std::string before = Dump("s.1.1.dump", ServerDump(100, 1).SiteAt(kHeap, 0x1000, 1000, 10));
  std::string grown = Dump("s.1.3.dump", ServerDump(100, 3).SiteAt(kHeap, 0x1000, 9000, 90).SiteAt(kHeap, 0x2000, 64, 1));
  Result j = Run({"check", "--format", "json", "--max-site-bytes", "1k", before, grown});
  EXPECT_EQ(j.code, 1) << j.err;
  json doc = json::parse(j.out);
  EXPECT_EQ(doc["passed"], false);
  EXPECT_EQ(doc["rules"][0]["name"], "max-site-bytes");
  EXPECT_EQ(doc["sites"].size(), 1u);
  Result ok = Run({"check", "--format", "json", "--max-site-bytes", "10k", before, grown});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["passed"], true);
  ExpectError(Run({"check", "--format", "xml", before, grown}), 2, "--format");

  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs python3";
  for (const char* threshold : {"1k", "10k"}) {
    Result x = Run({"check", "--format", "junit", "--max-site-bytes", threshold, before, grown});
    EXPECT_EQ(x.code, std::string(threshold) == "1k" ? 1 : 0) << x.err;
    std::string path = Path("junit.xml");
    std::ofstream(path) << x.out;
    // Parsed by a real XML parser: counts, and the failed test names the site.
    Result parsed = RunProgram({"/usr/bin/python3", "-c",
                                "import sys, xml.etree.ElementTree as ET\n"
                                "s = ET.parse(sys.argv[1]).getroot()\n"
                                "cases = s.findall('testcase')\n"
                                "failed = [c.get('name') for c in cases if c.find('failure') is not None]\n"
                                "assert int(s.get('tests')) == len(cases) and int(s.get('failures')) == len(failed)\n"
                                "print(len(cases), '|'.join(failed))\n",
                                path});
    ASSERT_EQ(parsed.code, 0) << parsed.err << x.out;
    if (std::string(threshold) == "1k") {
      EXPECT_EQ(parsed.out, "3 max-site-bytes: heap growth of any one call site <= 1.0 KiB|server+0x1000\n") << x.out;
    } else {
      EXPECT_EQ(parsed.out, "3 \n") << x.out;
    }
  }
}

TEST_F(CliTest, GroupingOptions) {
  std::string d = Dump("server.100.1.dump", ServerDump().SiteAt(kHeap, 0x1000, 4800, 100).SiteAt(kHeap, 0x2000, 200, 2));
  Result by_function = Run({"report", "--format", "json", "--group-by", "function", d});
  ASSERT_EQ(by_function.code, 0) << by_function.err;
  EXPECT_EQ(json::parse(by_function.out)["sites"].size(), 2u);  // no symbols: each offset its own function
  Result depth = Run({"diff", "--depth", "1", d, d});
  EXPECT_EQ(depth.code, 0) << depth.err;
  ExpectError(Run({"report", "--depth", "0", d}), 2, "--depth");
  ExpectError(Run({"check", "--group-by", "module", d, d}), 2, "--group-by");
  for (const char* cmd : {"report", "diff", "check"}) {
    Result h = Run({cmd, "--help"});
    EXPECT_NE(h.out.find("--group-by"), std::string::npos) << cmd;
    EXPECT_NE(h.out.find("--depth"), std::string::npos) << cmd;
  }
  EXPECT_NE(Run({"check", "--help"}).out.find("junit"), std::string::npos);
}

// --- snapshot ---------------------------------------------------------------------

class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    std::vector<std::string> a = args, e = env;
    std::vector<char*> argv, envp;
    for (std::string& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (std::string& s : e) envp.push_back(s.data());
    envp.push_back(nullptr);
    posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), envp.data());
  }
  ~Child() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

bool WaitForFile(const std::string& path) {
  for (int i = 0; i < 500; ++i) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_F(CliTest, SnapshotBadPids) {
  ExpectError(Run({"snapshot", "abc"}), 2);
  ExpectError(Run({"snapshot", "0"}), 2);
  ExpectError(Run({"snapshot", "999999999"}), 2, "999999999");
}

TEST_F(CliTest, SnapshotRefusesUntrackedProcess) {
  Child sleeper({"/bin/sleep", "30"}, {"PATH=/usr/bin:/bin"});
  ExpectError(Run({"snapshot", std::to_string(sleeper.pid())}), 2, "not running under leaktrace");
}

// Without a control block (a process under a descriptor limit below 64,
// where the library keeps none): the environment names signal and
// directory, and a new <program>.<pid>.<seq>.dump is what we wait for.
TEST_F(CliTest, SnapshotFallbackThroughEnvironment) {
  std::string ready = Path("ready");
  std::string script = "ulimit -n 32; trap 'n=$((n+1)); : > \"$LEAKTRACE_DIR/sh.$$.$n.dump\"' USR1; n=3; : > " +
                       ready + "; while :; do sleep 0.01; done";
  Child child({"/bin/sh", "-c", script},
              {"PATH=/usr/bin:/bin", "LD_PRELOAD=" TEST_PRELOAD_DUMMY, "LEAKTRACE_SIGNAL=SIGUSR1",
               "LEAKTRACE_DIR=" + dir_.string()});
  ASSERT_TRUE(WaitForFile(ready));
  std::ofstream(Path("sh." + std::to_string(child.pid()) + ".3.dump")).close();  // an older dump
  Result r = Run({"snapshot", "--timeout", "10", std::to_string(child.pid())});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Path("sh." + std::to_string(child.pid()) + ".4.dump") + "\n");
}

TEST_F(CliTest, SnapshotTimesOut) {
  std::string ready = Path("ready");
  Child child({"/bin/sh", "-c", "ulimit -n 32; trap '' USR1; : > " + ready + "; while :; do sleep 0.01; done"},
              {"PATH=/usr/bin:/bin", "LD_PRELOAD=" TEST_PRELOAD_DUMMY, "LEAKTRACE_SIGNAL=10",
               "LEAKTRACE_DIR=" + dir_.string()});
  ASSERT_TRUE(WaitForFile(ready));
  ExpectError(Run({"snapshot", "--timeout", "0.3", std::to_string(child.pid())}), 1, "timed out");
}

TEST_F(CliTest, SnapshotSignalDisabled) {
  std::string ready = Path("ready");
  Child child({"/bin/sh", "-c", ": > " + ready + "; while :; do sleep 0.01; done"},
              {"PATH=/usr/bin:/bin", "LD_PRELOAD=" TEST_PRELOAD_DUMMY, "LEAKTRACE_SIGNAL=0"});
  ASSERT_TRUE(WaitForFile(ready));
  ExpectError(Run({"snapshot", std::to_string(child.pid())}), 2, "disabled");
}

// The preferred path: the library's control memfd, imitated in Python.
TEST_F(CliTest, SnapshotThroughControlBlock) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs python3";
  std::string ready = Path("ready");
  std::string script = R"(
import os, signal, sys, time
d, ready = sys.argv[1], sys.argv[2]
stale = os.memfd_create("leaktrace-control", 0)   # as if inherited from a parent
os.write(stale, b"version=1\npid=1\nsignal=12\ndir=/x\nprogram=p\ncompleted=0\nlast=\n")
fd = os.memfd_create("leaktrace-control", 0)
seq = 5
def publish():
    last = "%s/fake.%d.%d.dump" % (d, os.getpid(), seq)
    text = "version=1\npid=%d\nsignal=%d\ndir=%s\nprogram=fake\ncompleted=%d\nlast=%s\n" % (
        os.getpid(), int(signal.SIGUSR1), d, seq, last)
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)
def on_signal(s, f):
    global seq
    seq += 1
    open("%s/fake.%d.%d.dump" % (d, os.getpid(), seq), "w").close()
    publish()
signal.signal(signal.SIGUSR1, on_signal)
publish()
open(ready, "w").close()
idle, _ = os.pipe()  # waits in a read, which the signal does not cut short (a sleep it would)
while True:
    os.read(idle, 1)
)";
  Child child({"/usr/bin/python3", "-c", script, dir_.string(), ready}, {"PATH=/usr/bin:/bin"});
  ASSERT_TRUE(WaitForFile(ready));
  Result r = Run({"snapshot", std::to_string(child.pid())});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Path("fake." + std::to_string(child.pid()) + ".6.dump") + "\n");
}

// A dump the process cannot write: the library publishes "failed=" and
// "error=" in its control block, and snapshot fails at once with the
// process's own reason, not after the timeout (the library side:
// Lifecycle.ASnapshotTheProcessCannotWriteFailsAtOnceWithItsReason).
TEST_F(CliTest, SnapshotFailsAtOnceWithTheProcessReason) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs python3";
  std::string ready = Path("ready");
  std::string script = R"(
import os, signal, sys, time
d, ready = sys.argv[1], sys.argv[2]
fd = os.memfd_create("leaktrace-control", 0)
def publish(failed):
    text = "version=1\npid=%d\nsignal=%d\ndir=/root/x\nprogram=fake\ncompleted=0\nlast=\nfailed=%d\nerror=%s\n" % (
        os.getpid(), int(signal.SIGUSR1), failed,
        "cannot create /root/x/.fake.1.dump.tmp: Permission denied" if failed else "")
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)
signal.signal(signal.SIGUSR1, lambda s, f: publish(1))
publish(0)
open(ready, "w").close()
idle, _ = os.pipe()  # waits in a read, which the signal does not cut short (a sleep it would)
while True:
    os.read(idle, 1)
)";
  Child child({"/usr/bin/python3", "-c", script, dir_.string(), ready}, {"PATH=/usr/bin:/bin"});
  ASSERT_TRUE(WaitForFile(ready));
  const auto start = std::chrono::steady_clock::now();
  Result r = Run({"snapshot", "--timeout", "20", std::to_string(child.pid())});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << "it waited for its timeout";
  ExpectError(r, 1, "process " + std::to_string(child.pid()) +
                        " cannot write its dump to /root/x: cannot create /root/x/.fake.1.dump.tmp: Permission denied");
}

// --- run --------------------------------------------------------------------------

TEST_F(CliTest, RunPassesEnvironmentAndExitStatus) {
  std::vector<std::string> env = {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY, "LD_PRELOAD="};
  std::string out = Path("env.txt");
  Result r = Run({"run", "-o", Path("dumps"), "--sample", "64k", "--interval", "5", "--", "/bin/sh", "-c",
                  "echo \"$LD_PRELOAD|$LEAKTRACE_DIR|$LEAKTRACE_SAMPLE|$LEAKTRACE_INTERVAL\" > " + out +
                      "; : > \"$LEAKTRACE_DIR/sh.$$.1.dump\"; exit 7"},
                 env);
  EXPECT_EQ(r.code, 7) << r.err;
  std::string expected = std::string(fs::canonical(TEST_PRELOAD_DUMMY)) + "|" + Path("dumps") + "|65536|5\n";
  EXPECT_EQ(Slurp(out), expected);
  EXPECT_NE(r.err.find(".1.dump"), std::string::npos) << r.err;  // the dumps it wrote
}

// A misspelled setting, which the library would silently ignore, is named
// with the setting it most likely meant; the run goes on. The tools' own
// names pass without a word.
TEST_F(CliTest, RunWarnsOfAnUnknownSetting) {
  std::vector<std::string> env = {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY, "LD_PRELOAD=", "LEAKTRACE_DUMP_ON_EXIT=0",
                                  "LEAKTRACE_SKIP_ASAN=1"};
  Result r = Run({"run", "-o", Path("dumps"), "--", "/bin/true"}, env);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("leaktrace: warning: LEAKTRACE_DUMP_ON_EXIT is not a leaktrace setting, and is ignored (did "
                       "you mean LEAKTRACE_ON_EXIT?)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("LEAKTRACE_SKIP_ASAN"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("LEAKTRACE_LIBRARY"), std::string::npos) << r.err;
}

// A command given without "--" whose options run takes for its own: the
// refusal says where the command goes, whichever option collided ("ls -o
// FILE" gave CLI11's "--output-dir: At Most 1 required but received 2"
// alone). Nothing runs.
TEST_F(CliTest, RunSaysWhereTheCommandGoesWhenItsOptionsCollide) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "-o", Path("dumps"), "ls", "-o", "/dev/null"},
        std::vector<std::string>{"run", "ls", "-l"}}) {
    Result r = Run(args, {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY, "LD_PRELOAD="});
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("put the command after '--'"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// A program that crashes under `run`: the shell sees the wrapper exit 139,
// not a process die, and printed nothing ("Segmentation fault" plainly);
// run said only "no dumps were written". It now says how the program ended.
TEST_F(CliTest, RunSaysTheProgramWasKilledByASignal) {
  Result r = Run({"run", "-o", Path("dumps"), "--", "/bin/sh", "-c", "kill -SEGV $$"},
                 {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY, "LD_PRELOAD="});
  EXPECT_EQ(r.code, 128 + SIGSEGV) << r.err;
  EXPECT_NE(r.err.find("leaktrace: /bin/sh was killed by signal 11 (Segmentation fault)"), std::string::npos) << r.err;
  Result ok = Run({"run", "-o", Path("dumps"), "--", "/bin/sh", "-c", "exit 3"},
                  {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY, "LD_PRELOAD="});
  EXPECT_EQ(ok.code, 3);
  EXPECT_EQ(ok.err.find("killed by signal"), std::string::npos) << ok.err;
}

// An executable script without "#!": a shell, env, timeout or nohup run it
// with /bin/sh (execvp does); run refused it, "Exec format error", exit 2.
TEST_F(CliTest, RunRunsAScriptWithoutAnInterpreterLineAsAShellWould) {
  const std::string script = Path("legacy.sh");
  const std::string out = Path("legacy.out");
  std::ofstream(script) << "echo \"from the script: $1\" > " << out << "\nexit 7\n";
  fs::permissions(script, fs::perms::owner_all);
  Result r = Run({"run", "-o", Path("dumps"), "--", script, "a"}, {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY, "LD_PRELOAD="});
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_EQ(Slurp(out), "from the script: a\n");
}

TEST_F(CliTest, RunOnlySetsTheProgramFilter) {
  std::vector<std::string> env = {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY, "LD_PRELOAD=", "LEAKTRACE_PROGRAMS=inherited"};
  std::string out = Path("programs.txt");
  Result r = Run({"run", "-o", Path("dumps"), "--only", "python3*", "--only", "redis-server", "--", "/bin/sh", "-c",
                  "echo \"$LEAKTRACE_PROGRAMS\" > " + out},
                 env);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(out), "python3*,redis-server\n");
  ExpectError(Run({"run", "--only", "a,b", "--", "/bin/true"}, env), 2,
              "--only: 'a,b' is not a program name or glob (no commas)");
}

TEST_F(CliTest, RunPrependsToExistingPreloadAndReportsSignals) {
  std::vector<std::string> env = {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY, "LD_PRELOAD=/other/lib.so"};
  std::string out = Path("env.txt");
  Result r = Run({"run", "-o", Path("dumps"), "--", "/bin/sh", "-c", "echo \"$LD_PRELOAD\" > " + out + "; kill -TERM $$"}, env);
  EXPECT_EQ(r.code, 128 + SIGTERM);
  EXPECT_EQ(Slurp(out), std::string(fs::canonical(TEST_PRELOAD_DUMMY)) + ":/other/lib.so\n");
}

// A supervisor knows the wrapper's pid only (`$!`, MAINPID): a log reopen on
// SIGUSR1 must reach the program, not end the wrapper (its default action)
// and leave the program running, orphaned. The program here signals its
// parent, the wrapper, then waits for the signal to come back.
// So are the job-control signals programs give meanings of their own
// (gunicorn's SIGTTIN and SIGTTOU add and remove workers): at their default
// action they stopped the wrapper, which then passed on nothing.
TEST_F(CliTest, RunPassesOnTheSignalsASupervisorSends) {
  std::vector<std::string> env = {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY};
  for (const char* sig : {"USR1", "USR2", "ALRM", "TTIN", "TTOU", "WINCH", "TSTP", "CONT"}) {
    const std::string script = std::string("trap 'echo got " + std::string(sig) + "; exit 7' ") + sig +
                               "; kill -" + sig + " $PPID; i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; exit 3";
    Result r = Run({"run", "-o", Path("dumps"), "--", "/bin/sh", "-c", script}, env, /*stopped_fails=*/true);
    EXPECT_EQ(r.code, 7) << sig << ": " << r.err << (r.code == 2000 ? " (the wrapper stopped)" : "");
    EXPECT_EQ(r.out, std::string("got ") + sig + "\n");
  }
}

// The state letter of /proc/PID/stat ('T' stopped), or 0 when it is gone.
char ProcessState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : 0;
}

pid_t OnlyChildOf(pid_t parent) {
  std::ifstream children("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
  pid_t child = 0;
  children >> child;
  return child;
}

// A terminal's job control (Ctrl-Z typed at `leaktrace run -- CMD` in an
// interactive shell) sends SIGTSTP to the whole foreground job, the wrapper
// and its program alike (si_code SI_KERNEL). The wrapper must not pass it
// on (the program has it already) and must stop as well, as its default
// action would: the shell then sees the job stopped. Passed on as a
// supervisor's SIGTSTP is, it left the wrapper running and the shell
// waiting. A real terminal: a pseudo-terminal whose session leader is a
// shell with job control (`set -m`), as a user's login shell is.
TEST_F(CliTest, RunStopsWithItsProgramWhenTheTerminalSaysSo) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0) << strerror(errno);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const std::string terminal = ptsname(master);
  const std::string command = std::string("set -m; ") + LEAKTRACE_BINARY + " run -o " + Path("dumps") +
                              " -- sleep 30; echo status $?; sleep 30";
  const pid_t shell = fork();
  ASSERT_GE(shell, 0);
  if (shell == 0) {
    setsid();
    const int tty = open(terminal.c_str(), O_RDWR);  // the session's controlling terminal
    if (tty < 0) _exit(120);
    dup2(tty, 0);
    dup2(tty, 1);
    dup2(tty, 2);
    setenv("LEAKTRACE_LIBRARY", TEST_PRELOAD_DUMMY, 1);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The shell's child is the wrapper, and the wrapper's the program.
  pid_t wrapper = 0, program = 0;
  for (int i = 0; i < 500 && program == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    wrapper = OnlyChildOf(shell);
    if (wrapper != 0) program = OnlyChildOf(wrapper);
  }
  ASSERT_NE(program, 0) << "the wrapper did not start its program";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the wrapper's handlers are in
  ASSERT_EQ(write(master, "\x1a", 1), 1);                        // Ctrl-Z
  std::string said;
  char buf[256];
  for (int i = 0; i < 500 && said.find("status") == std::string::npos; ++i) {
    pollfd p = {master, POLLIN, 0};
    if (poll(&p, 1, 10) == 1) {
      const ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) said.append(buf, static_cast<size_t>(n));
    }
  }
  // Each stops when it next runs (a loaded machine may not run it at once).
  for (int i = 0; i < 500 && (ProcessState(wrapper) != 'T' || ProcessState(program) != 'T'); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ProcessState(wrapper), 'T') << "the wrapper goes on after Ctrl-Z";
  EXPECT_EQ(ProcessState(program), 'T') << "the program goes on after Ctrl-Z";
  EXPECT_NE(said.find("status 148"), std::string::npos) << "the shell saw no stopped job: " << said;
  kill(program, SIGKILL);
  kill(wrapper, SIGKILL);
  kill(shell, SIGKILL);
  waitpid(shell, nullptr, 0);
  close(master);
}

// An LD_PRELOAD that already names a libleaktrace (an installed copy,
// another build) loses that entry: the run's own library goes first and
// alone, the rest stays in order. Before, both copies loaded and tracked.
TEST_F(CliTest, RunPreloadsOneCopyOfTheLibrary) {
  const Result r = Run({"run", "-o", Path("dumps"), "--", "/bin/sh", "-c", "echo \"$LD_PRELOAD\""},
                       {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY,
                        "LD_PRELOAD=/opt/leaktrace/lib/libleaktrace.so:/nowhere/libother.so /old/libleaktrace.so.1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(TEST_PRELOAD_DUMMY) + ":/nowhere/libother.so\n");
}

TEST_F(CliTest, RunErrors) {
  ExpectError(Run({"run", "--", "/nonexistent/program"}, {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY}), 2, "/nonexistent/program");
  ExpectError(Run({"run", "--", "/bin/true"}, {"LEAKTRACE_LIBRARY=/nonexistent/libleaktrace.so"}), 2, "LEAKTRACE_LIBRARY");
  ExpectError(Run({"run", "--sample", "lots", "--", "/bin/true"}, {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY}), 2, "--sample");
  ExpectError(Run({"run", "--interval", "1.5", "--", "/bin/true"}, {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY}), 2, "--interval");
  ExpectError(Run({"run"}), 2);
  ExpectError(Run({"run", "/bin/sh", "-c", "true"}, {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY}), 2, "--");
}

// issue 14: a setting the library would reject used to run the program
// untracked and end with "no dumps"; run refuses it before starting.
TEST_F(CliTest, RunValidatesEveryInheritedSetting) {
  const std::string lib = "LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY;
  const std::string marker = Path("ran");
  const std::vector<std::string> cmd = {"run", "-o", Path("dumps"), "--", "/bin/sh", "-c", ": > " + marker};
  for (const char* bad : {"LEAKTRACE_SAMPLE=banana", "LEAKTRACE_SAMPLE=0", "LEAKTRACE_SAMPLE=1.5k",
                          "LEAKTRACE_SIGNAL=SIGNOPE", "LEAKTRACE_SIGNAL=9", "LEAKTRACE_SIGNAL=SIGCHLD",
                          "LEAKTRACE_SIGNAL=WINCH", "LEAKTRACE_SIGNAL=SIGSEGV", "LEAKTRACE_INTERVAL=1.5",
                          "LEAKTRACE_ON_EXIT=yes", "LEAKTRACE_FOLLOW_EXEC=2", "LEAKTRACE_PROGRAMS=,,"}) {
    const Result r = Run(cmd, {lib, bad});
    const std::string key = std::string(bad).substr(0, std::string(bad).find('=') + 1);
    ExpectError(r, 2, key);
    EXPECT_NE(r.err.find("the program would run untracked"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(marker)) << bad;
  }
  // Good values, and an option that replaces a bad inherited one, run.
  for (const std::vector<std::string>& env :
       {std::vector<std::string>{lib, "LEAKTRACE_SAMPLE=64k", "LEAKTRACE_SIGNAL=SIGRTMIN+3", "LEAKTRACE_ON_EXIT=0"},
        std::vector<std::string>{lib, "LEAKTRACE_SIGNAL=0", "LEAKTRACE_INTERVAL=5", "LEAKTRACE_FOLLOW_EXEC=1"},
        std::vector<std::string>{lib, "LEAKTRACE_ON_EXIT=all"}}) {
    const Result r = Run(cmd, env);
    EXPECT_EQ(r.code, 0) << r.err;
  }
  std::vector<std::string> with_option = {"run", "--sample", "1", "-o", Path("dumps"), "--", "/bin/true"};
  EXPECT_EQ(Run(with_option, {lib, "LEAKTRACE_SAMPLE=banana"}).code, 0);
}

// run names the program's pid (for snapshots of a backgrounded run).
TEST_F(CliTest, RunSaysTheProgramsPid) {
  const std::string out = Path("pid.txt");
  const Result r = Run({"run", "-o", Path("dumps"), "--", "/bin/sh", "-c", "echo $$ > " + out},
                       {"LEAKTRACE_LIBRARY=" TEST_PRELOAD_DUMMY});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string pid = Slurp(out);
  pid.pop_back();
  EXPECT_NE(r.err.find("leaktrace: /bin/sh started as pid " + pid + ", dumps in " + Path("dumps") + "\n"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace leaktrace::cli_test
