// `leaktrace export` (folded, html, speedscope) on synthetic dumps: what each
// format holds, growth with --base, refusals (exit 2, one line).
#include <nlohmann/json.hpp>

#include "tests/cli/command_test.h"

namespace leaktrace::cli_test {
namespace {

using ExportCliTest = CommandTest;

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
