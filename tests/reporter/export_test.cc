// Folded stacks, the HTML flame graph (reporter/export_flame.h) and
// speedscope JSON (reporter/export_speedscope.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "reporter/export_flame.h"
#include "reporter/export_speedscope.h"
#include "tests/reporter/fake_symbols.h"

namespace leaktrace::reporter {
namespace {

using testing::Fn;

Report Live() {
  Report r;
  auto add = [&](Resource res, double bytes, double count, std::vector<Frame> frames) {
    Site s;
    s.resource = res;
    s.bytes = bytes;
    s.count = count;
    s.frames = std::move(frames);
    s.key = SiteKey(res, "", s.frames);
    r.sites.push_back(std::move(s));
  };
  add(Resource::kHeap, 4800.4, 100, {Fn("read_line", "io.h", 12, true), Fn("parse;header", "http.c", 120), Fn("main")});
  add(Resource::kHeap, 0, 0, {Fn("gone")});
  add(Resource::kFd, 0, 3, {Fn("accept_client")});
  return r;
}

TEST(ExportFolded, OutermostFirstInlineIncludedSemicolonsReplaced) {
  EXPECT_EQ(RenderFolded(Live(), Resource::kHeap), "main;parse:header;read_line 4800\n");
  EXPECT_EQ(RenderFolded(Live(), Resource::kFd), "accept_client 3\n");
  EXPECT_EQ(RenderFolded(Live(), Resource::kMmap), "");
}

DumpInfo Dump(uint32_t pid, uint32_t seq, const std::string& path) {
  DumpInfo d;
  d.path = path;
  d.program = "server";
  d.pid = pid;
  d.seq = seq;
  d.exact = true;
  d.sample_interval = 1;
  d.snapshot_realtime_ns = int64_t{1700000000} * 1000000000;
  d.snapshot_monotonic_ns = int64_t{5000} * 1000000000 + seq * int64_t{10} * 1000000000;
  d.start_realtime_ns = int64_t{1699999000} * 1000000000;
  return d;
}

TEST(ExportHtml, HeaderFramesLabelsAndNothingLoaded) {
  if (!FlameHtmlAvailable()) GTEST_SKIP() << "built with -DLEAKTRACE_HTML_FLAMEGRAPH=OFF";
  Report r = Live();
  r.dumps.push_back(Dump(4242, 2, "/tmp/server.4242.2.dump"));
  r.sites[0].frames[2].function = "evil</script><img src=x>";
  const std::string html = RenderFlameHtml(r, Resource::kHeap);
  // Header: program, pid, snapshot, sampling, human-readable total.
  EXPECT_NE(html.find("<h1>Live heap of server</h1>"), std::string::npos);
  EXPECT_NE(html.find("server, pid 4242, snapshot #2 at "), std::string::npos);
  EXPECT_NE(html.find("/tmp/server.4242.2.dump"), std::string::npos);
  EXPECT_NE(html.find("every allocation recorded (exact)"), std::string::npos);
  EXPECT_NE(html.find("total: 4.7 KiB in 100 allocations at 1 call site"), std::string::npos);
  // Frames carry name, value, location, inline mark; outermost first.
  EXPECT_NE(html.find(R"({"name":"read_line","value":4800,"loc":"io.h:12","src":"io.h:12","inl":true,)"),
            std::string::npos);
  EXPECT_NE(html.find(R"("name":"parse;header","value":4800,"loc":"http.c:120")"), std::string::npos);
  // A symbol cannot end the script or inject markup.
  EXPECT_EQ(html.find("</script><img"), std::string::npos);
  EXPECT_NE(html.find("evil\\u003c/script>\\u003cimg"), std::string::npos);
  // Everything inlined: d3 and d3-flame-graph are in the page, nothing is fetched.
  EXPECT_NE(html.find("flamegraph.default()"), std::string::npos);
  EXPECT_GT(html.size(), 200000u);  // d3 itself
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  for (const char* name : {"TITLE", "HEADER", "DATA", "UNIT", "VERSIONS", "D3_JS", "FLAMEGRAPH_JS"})
    EXPECT_EQ(html.find(std::string("{{") + name + "}}"), std::string::npos) << name << " was left unfilled";
  EXPECT_NE(html.find("d3-flame-graph 5.0.0 (Apache-2.0 license)"), std::string::npos);
}

TEST(ExportHtml, GrowthNamesBothDumps) {
  if (!FlameHtmlAvailable()) GTEST_SKIP() << "built with -DLEAKTRACE_HTML_FLAMEGRAPH=OFF";
  Report r = Live();
  r.kind = ReportKind::kGrowth;
  r.baseline.push_back(Dump(4242, 1, "a.dump"));
  r.dumps.push_back(Dump(4242, 3, "b.dump"));
  const std::string html = RenderFlameHtml(r, Resource::kHeap);
  EXPECT_NE(html.find("<h1>Growth of heap of server</h1>"), std::string::npos);
  EXPECT_NE(html.find("<p>before: server, pid 4242, snapshot #1 at "), std::string::npos);
  EXPECT_NE(html.find("<p>after: server, pid 4242, snapshot #3 at "), std::string::npos);
  EXPECT_NE(html.find("total growth: 4.7 KiB in 100 allocations at 1 call site over 20.0 s"), std::string::npos);
}

TEST(ExportSpeedscope, OneProfilePerValueStacksOutermostFirst) {
  Report r = Live();
  r.dumps.push_back(Dump(4242, 2, "server.4242.2.dump"));
  r.sites[0].alloc_bytes = 9600;
  r.sites[0].alloc_count = 200;
  const nlohmann::json doc = nlohmann::json::parse(RenderSpeedscope(r, "leaktrace test"));
  EXPECT_EQ(doc["$schema"], "https://www.speedscope.app/file-format-schema.json");
  EXPECT_EQ(doc["exporter"], "leaktrace test");
  const nlohmann::json& frames = doc["shared"]["frames"];
  std::vector<std::string> names;
  for (const auto& p : doc["profiles"]) names.push_back(p["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"heap live (bytes): server pid 4242 #2", "heap live (allocations): server pid 4242 #2",
                                             "fd open (descriptors): server pid 4242 #2",
                                             "heap allocated since start (bytes): server pid 4242 #2",
                                             "heap allocated since start (allocations): server pid 4242 #2"}));
  const nlohmann::json& heap = doc["profiles"][0];
  EXPECT_EQ(heap["type"], "sampled");
  EXPECT_EQ(heap["unit"], "bytes");
  EXPECT_EQ(heap["weights"], nlohmann::json::array({4800}));  // the empty site is left out
  EXPECT_EQ(heap["endValue"], 4800);
  ASSERT_EQ(heap["samples"].size(), 1u);
  const nlohmann::json& stack = heap["samples"][0];
  ASSERT_EQ(stack.size(), 3u);
  EXPECT_EQ(frames[stack[0].get<size_t>()]["name"], "main");
  EXPECT_EQ(frames[stack[1].get<size_t>()], nlohmann::json({{"name", "parse;header"}, {"file", "http.c"}, {"line", 120}}));
  EXPECT_EQ(frames[stack[2].get<size_t>()]["name"], "read_line [inlined]");
  EXPECT_EQ(doc["profiles"][1]["weights"], nlohmann::json::array({100}));
  EXPECT_EQ(doc["profiles"][2]["unit"], "none");
  EXPECT_EQ(doc["profiles"][2]["weights"], nlohmann::json::array({3}));
  EXPECT_EQ(doc["profiles"][3]["weights"], nlohmann::json::array({9600}));
  // Each frame once, however many profiles use it.
  EXPECT_EQ(frames.size(), 4u);  // main, parse;header, read_line, accept_client
}

TEST(ExportSpeedscope, GrowthLeavesShrinkageOutAndIsNeverEmpty) {
  Report r;
  r.kind = ReportKind::kGrowth;
  Site s;
  s.bytes = -100;
  s.count = -1;
  s.frames = {Fn("shrank")};
  r.sites.push_back(s);
  const nlohmann::json doc = nlohmann::json::parse(RenderSpeedscope(r, "x"));
  ASSERT_EQ(doc["profiles"].size(), 1u);
  EXPECT_EQ(doc["profiles"][0]["samples"], nlohmann::json::array());
  EXPECT_EQ(doc["profiles"][0]["endValue"], 0);
  EXPECT_EQ(doc["shared"]["frames"], nlohmann::json::array());
}

}  // namespace
}  // namespace leaktrace::reporter
