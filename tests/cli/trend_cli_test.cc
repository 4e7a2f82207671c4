// `leaktrace trend` / `check --trend` on synthetic dumps: refusals (exit 2,
// one line) and the verdict of a steady leak; `leaktrace export` (folded,
// html, speedscope) on the same kind of dumps.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/cli/server_dump.h"

namespace leaktrace::cli_test {
namespace {

namespace fs = std::filesystem;

struct Out {
  int code = -1;
  std::string out, err;
};

class TrendCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("leaktrace-trend-cli-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A dump of pid `pid` at `seq` (60 s apart) with one heap site of `bytes`.
  std::string Dump(uint32_t pid, uint32_t seq, double bytes) {
    std::string path = Path("server." + std::to_string(pid) + "." + std::to_string(seq) + ".dump");
    EXPECT_TRUE(ServerDump(pid, seq).SiteAt(format::Resource::kHeap, 0x1000, bytes, bytes / 16).WriteFile(path));
    return path;
  }

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

  fs::path dir_;
};

int Lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST_F(TrendCliTest, SteadyGrowthIsALeakAndFailsTheGate) {
  std::string dumps;
  for (uint32_t seq = 1; seq <= 4; ++seq) dumps += " " + Dump(100, seq, 1024.0 * seq);
  Out r = Run("trend" + dumps);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 leak"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("leak: +17.1 B/s"), std::string::npos) << r.out;
  r = Run("check --trend" + dumps);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  r = Run("check --trend --max-bytes 1m" + dumps);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(TrendCliTest, RefusesOtherProcessesAndShortSeries) {
  const std::string a = Dump(100, 1, 0), b = Dump(100, 2, 10), c = Dump(200, 3, 20);
  for (const std::string& cmd : {"trend " + a + " " + b + " " + c, "check --trend " + a + " " + b + " " + c,
                                 "trend " + a + " " + b, "trend " + a + " " + b + " " + b,
                                 "trend --format json " + a + " " + b + " " + Path("missing.dump")}) {
    Out r = Run(cmd);
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.out;
    EXPECT_EQ(Lines(r.err), 1) << cmd << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("leaktrace: ", 0), 0u) << r.err;
  }
  EXPECT_NE(Run("trend " + a + " " + b + " " + c).err.find("another process"), std::string::npos);
}

using ExportCliTest = TrendCliTest;

TEST_F(ExportCliTest, FoldedLinesParseAndBaseGivesGrowth) {
  const std::string a = Dump(100, 1, 1000), b = Dump(100, 2, 4000);
  Out r = Run("export --format folded " + b);
  ASSERT_EQ(r.code, 0) << r.err;
  // "outer;...;inner VALUE": the last space separates the integer value.
  ASSERT_EQ(Lines(r.out), 1) << r.out;
  const std::string line = r.out.substr(0, r.out.size() - 1);
  const size_t space = line.rfind(' ');
  ASSERT_NE(space, std::string::npos);
  EXPECT_EQ(line.substr(0, space), "server+0x1000");
  EXPECT_EQ(std::stoll(line.substr(space + 1)), 4000);
  r = Run("export --format folded --base " + a + " " + b + " -o " + Path("growth.folded"));
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(Path("growth.folded"));
  std::string got;
  std::getline(in, got);
  EXPECT_EQ(got, "server+0x1000 3000");
}

// The markup of a page: `html` without the bodies of its <script> and
// <style> elements (inlined d3 mentions URLs, e.g. XML namespaces, that the
// page never loads).
std::string Markup(const std::string& html) {
  std::string out;
  size_t pos = 0;
  while (pos < html.size()) {
    const size_t script = html.find("<script>", pos), style = html.find("<style>", pos);
    const size_t open = std::min(script, style);
    if (open == std::string::npos) break;
    const std::string close = open == script ? "</script>" : "</style>";
    const size_t body = html.find('>', open) + 1;
    out += html.substr(pos, body - pos);
    const size_t end = html.find(close, body);
    if (end == std::string::npos) return out + "[unterminated " + close + "]";
    pos = end;
  }
  return out + html.substr(pos);
}

TEST_F(ExportCliTest, HtmlIsSelfContained) {
  Out r = Run("export --format html " + Dump(100, 1, 2048));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(r.out.find("server+0x1000"), std::string::npos);
  // Every script and style is inline, and no element refers to anything.
  const std::string markup = Markup(r.out);
  EXPECT_EQ(markup.find("<script "), std::string::npos) << markup;
  EXPECT_EQ(markup.find("<link"), std::string::npos) << markup;
  EXPECT_EQ(markup.find("src="), std::string::npos) << markup;
  EXPECT_EQ(markup.find("href="), std::string::npos) << markup;
  EXPECT_EQ(markup.find("http"), std::string::npos) << markup;
  EXPECT_EQ(markup.find("@import"), std::string::npos) << markup;
  // d3 and d3-flame-graph are in it.
  EXPECT_NE(r.out.find("https://d3js.org v"), std::string::npos);
  EXPECT_NE(r.out.find("flamegraph.default()"), std::string::npos);
}

TEST_F(ExportCliTest, SpeedscopeIsOneJsonDocument) {
  const std::string a = Dump(100, 1, 1000), b = Dump(100, 2, 4000);
  Out r = Run("export --format speedscope " + b);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["$schema"], "https://www.speedscope.app/file-format-schema.json");
  ASSERT_FALSE(doc["profiles"].empty());
  EXPECT_EQ(doc["profiles"][0]["unit"], "bytes");
  EXPECT_EQ(doc["profiles"][0]["weights"], nlohmann::json::array({4000}));
  r = Run("export --format speedscope --base " + a + " " + b);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["profiles"][0]["weights"], nlohmann::json::array({3000}));
}

TEST_F(ExportCliTest, BadUsageIsExit2) {
  const std::string a = Dump(100, 1, 1000);
  for (const std::string& cmd : {"export " + a, "export --format svg " + a, "export --format folded " + Path("none"),
                                 "export --format html -o /nonexistent-dir/x.html " + a,
                                 "export --format folded --base " + a + " " + a + " " + a}) {
    Out r = Run(cmd);
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.out;
    EXPECT_EQ(Lines(r.err), 1) << cmd << "\n" << r.err;
  }
}

}  // namespace
}  // namespace leaktrace::cli_test
