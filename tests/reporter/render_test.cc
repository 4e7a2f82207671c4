// Renderers: the JSON shape of docs/cli.md, and text for people.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reporter/diff.h"
#include "reporter/render.h"
#include "reporter/report_from_dump.h"
#include "tests/reporter/fake_symbols.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::reporter {
namespace {

using format::Resource;
using nlohmann::json;
using test_support::DumpBuilder;
using testing::FakeSymbols;
using testing::Fn;

constexpr uint64_t kBias = 0x555500000000;

FakeSymbols Symbols() {
  FakeSymbols s;
  s.Add("server", 0x1000, {Fn("parse_header", "src/http.c", 120)});
  s.Add("server", 0x2000, {Fn("handle_conn", "src/server.c", 88)});
  s.Add("server", 0x3000, {Fn("std::vector<int, std::allocator<int> >::reserve(unsigned long)")});  // no line info
  return s;
}

Report LiveReport(bool exact) {
  FakeSymbols symbols = Symbols();
  return FromDump(DumpBuilder()
                      .Exact(exact)
                      .Module("/usr/bin/server", kBias)
                      .Stack(1, {kBias + 0x1000, kBias + 0x2000})
                      .Stack(2, {kBias + 0x3000, kBias + 0x9999})
                      .Site(Resource::kHeap, 1, 4800, 100, exact ? 0 : 2500)
                      .Site(Resource::kFd, 2, 0, 3, 0, "socket")
                      .Build(),
                  symbols.Source());
}

Report GrowthReport() {
  FakeSymbols symbols = Symbols();
  auto base = [](uint32_t seq) {
    DumpBuilder b("server", 100, seq);
    b.Exact().Module("/usr/bin/server", kBias).Stack(1, {kBias + 0x1000, kBias + 0x2000}).Stack(2, {kBias + 0x3000});
    return b;
  };
  Report before = FromDump(base(1).Site(Resource::kHeap, 1, 1000, 10).Site(Resource::kHeap, 2, 900, 9).Build(),
                           symbols.Source());
  Report after = FromDump(base(2).Site(Resource::kHeap, 1, 5800, 110).Site(Resource::kHeap, 2, 100, 1).Build(),
                          symbols.Source());
  return Diff(before, after);
}

TEST(RenderJson, ContractShape) {
  json doc = json::parse(RenderJson(LiveReport(true), {}));
  ASSERT_TRUE(doc.contains("sites"));
  ASSERT_TRUE(doc["sites"].is_array());
  ASSERT_EQ(doc["sites"].size(), 2u);
  const json& heap = doc["sites"][0];
  EXPECT_EQ(heap["resource"], "heap");
  EXPECT_TRUE(heap["bytes"].is_number_integer());  // exact dump: integers
  EXPECT_EQ(heap["bytes"], 4800);
  EXPECT_EQ(heap["count"], 100);
  ASSERT_EQ(heap["frames"].size(), 2u);
  const json& f0 = heap["frames"][0];
  EXPECT_EQ(f0["function"], "parse_header");
  EXPECT_EQ(f0["file"], "src/http.c");
  EXPECT_EQ(f0["line"], 120);
  EXPECT_EQ(f0["module"], "/usr/bin/server");
  EXPECT_FALSE(heap.contains("stderr_bytes"));

  const json& fd = doc["sites"][1];
  EXPECT_EQ(fd["resource"], "fd");
  EXPECT_EQ(fd["label"], "socket");
  EXPECT_EQ(fd["count"], 3);
  // file/line only when known; unknown functions get a module+offset name.
  EXPECT_FALSE(fd["frames"][0].contains("file"));
  EXPECT_FALSE(fd["frames"][0].contains("line"));
  EXPECT_EQ(fd["frames"][1]["function"], "server+0x9999");
  EXPECT_EQ(fd["frames"][1]["offset"], 0x9999);

  EXPECT_EQ(doc["kind"], "report");
  EXPECT_EQ(doc["summary"]["heap"]["bytes"], 4800);
  EXPECT_EQ(doc["summary"]["fd"]["count"], 3);
  EXPECT_EQ(doc["dumps"][0]["pid"], 100);
  EXPECT_EQ(doc["dumps"][0]["program"], "server");
}

TEST(RenderJson, SampledDataCarriesStandardErrors) {
  auto doc = ToJson(LiveReport(false), {});
  const json& heap = doc["sites"][0];
  EXPECT_DOUBLE_EQ(heap["stderr_bytes"].get<double>(), 50.0);
  EXPECT_FALSE(doc["exact"].get<bool>());
  // fds are always exact: still integers.
  EXPECT_TRUE(doc["sites"][1]["count"].is_number_integer());
}

TEST(RenderJson, DiffHasNegativeGrowthAndRoles) {
  auto doc = ToJson(GrowthReport(), {});
  EXPECT_EQ(doc["kind"], "diff");
  ASSERT_EQ(doc["sites"].size(), 2u);
  EXPECT_EQ(doc["sites"][0]["bytes"], 4800);
  EXPECT_EQ(doc["sites"][1]["bytes"], -800);
  EXPECT_EQ(doc["sites"][1]["count"], -8);
  EXPECT_EQ(doc["dumps"][0]["role"], "before");
  EXPECT_EQ(doc["dumps"][1]["role"], "after");
  EXPECT_DOUBLE_EQ(doc["summary"]["interval_seconds"].get<double>(), 60.0);
  EXPECT_EQ(doc["summary"]["heap"]["bytes"], 4000);
}

TEST(RenderJson, TopAndMinBytes) {
  RenderOptions o;
  o.top = 1;
  EXPECT_EQ(ToJson(GrowthReport(), o)["sites"].size(), 1u);
  o.top = 0;
  o.min_bytes = 1000;
  auto doc = ToJson(GrowthReport(), o);
  ASSERT_EQ(doc["sites"].size(), 1u);
  EXPECT_EQ(doc["total_sites"], 2);
}

TEST(RenderText, ReportIsReadable) {
  std::string text = RenderText(LiveReport(true), {});
  EXPECT_NE(text.find("4.7 KiB"), std::string::npos) << text;
  EXPECT_NE(text.find("parse_header  src/http.c:120"), std::string::npos) << text;
  EXPECT_NE(text.find("handle_conn   src/server.c:88"), std::string::npos) << text;  // aligned
  EXPECT_NE(text.find("[socket]"), std::string::npos) << text;
  EXPECT_NE(text.find("100 allocations"), std::string::npos) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos);  // no colour unless asked
}

TEST(RenderText, DiffShowsSignedGrowthAndInterval) {
  std::string text = RenderText(GrowthReport(), {});
  EXPECT_NE(text.find("+4.7 KiB"), std::string::npos) << text;
  EXPECT_NE(text.find("-800 B"), std::string::npos) << text;
  EXPECT_NE(text.find("60.0 s"), std::string::npos) << text;
  EXPECT_NE(text.find("heap +3.9 KiB"), std::string::npos) << text;
  EXPECT_LT(text.find("+4.7 KiB"), text.find("-800 B"));
}

TEST(RenderText, SampledCountsAreMarkedAsEstimates) {
  std::string text = RenderText(LiveReport(false), {});
  EXPECT_NE(text.find("~100 allocations"), std::string::npos) << text;
  EXPECT_NE(text.find("± 50 B"), std::string::npos) << text;
}

TEST(RenderText, ColourWhenAskedAndTopHidesRest) {
  RenderOptions o;
  o.color = true;
  o.top = 1;
  std::string text = RenderText(GrowthReport(), o);
  EXPECT_NE(text.find('\033'), std::string::npos);
  EXPECT_NE(text.find("1 more site not shown"), std::string::npos) << text;
}

// A sampled diff states the smallest growth it can tell from noise, marks
// growth below it "not significant", and never says "no growth".
Report SampledGrowth(double before_bytes, double after_bytes) {
  FakeSymbols symbols = Symbols();
  const double T = 512 * 1024;
  auto dump = [&](uint32_t seq, double bytes) {
    DumpBuilder b("server", 100, seq);
    b.Exact(false).Module("/usr/bin/server", kBias).Stack(1, {kBias + 0x1000, kBias + 0x2000});
    if (bytes > 0) b.Site(Resource::kHeap, 1, bytes, bytes / 1000, bytes * T);
    return FromDump(b.Build(), symbols.Source());
  };
  return Diff(dump(1, before_bytes), dump(2, after_bytes));
}

TEST(RenderText, SampledDiffStatesItsDetectionLimit) {
  const double MiB = 1024 * 1024;
  const Report small = SampledGrowth(0.5 * MiB, 2 * MiB);
  EXPECT_DOUBLE_EQ(DetectionLimitBytes(small), 9 * 512 * 1024);
  std::string text = RenderText(small, {});
  EXPECT_NE(text.find("detection limit 4.5 MiB: heap growth below it at a call site (76.8 KiB/s over 60.0 s) is not "
                      "significant at 512.0 KiB sampling (3 standard errors); for smaller leaks use "
                      "LEAKTRACE_SAMPLE=64k (leaktrace run --sample 64k), or --sample 1 (exact)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("#1 heap +1.5 MiB ± 1.1 MiB in ~+1,573 allocations (not significant)"), std::string::npos)
      << text;
  const json j = ToJson(small, {});
  EXPECT_DOUBLE_EQ(j["detection_limit_bytes"].get<double>(), 9 * 512 * 1024);
  EXPECT_EQ(j["sites"][0]["significant"], false);

  // Far above the limit: no "not significant" on the site.
  text = RenderText(SampledGrowth(0, 40 * MiB), {});
  EXPECT_EQ(text.find("(not significant)"), std::string::npos) << text;
  EXPECT_NE(text.find("detection limit 4.5 MiB"), std::string::npos) << text;

  // Nothing sampled changed: not "no growth".
  text = RenderText(SampledGrowth(MiB, MiB), {});
  EXPECT_EQ(text.find("no growth"), std::string::npos) << text;
  EXPECT_NE(text.find("nothing sampled changed: heap growth below the detection limit is not significant"),
            std::string::npos)
      << text;

  // Exact diffs have no limit and keep their words.
  EXPECT_EQ(RenderText(GrowthReport(), {}).find("detection limit"), std::string::npos);
  EXPECT_FALSE(ToJson(GrowthReport(), {}).contains("detection_limit_bytes"));
}

}  // namespace
}  // namespace leaktrace::reporter
