// Grouping (--group-by, --depth) and the check renderers (JSON, JUnit).
#include <gtest/gtest.h>

#include "reporter/check.h"
#include "reporter/group.h"
#include "reporter/render.h"
#include "tests/reporter/fake_symbols.h"

namespace leaktrace::reporter {
namespace {

using format::Resource;
using testing::Fn;

Frame In(Frame f, const std::string& module) {
  f.module = module;
  return f;
}

const std::string kExe = "/usr/bin/server";
const std::string kLibc = "/lib/x86_64-linux-gnu/libc.so.6";
const std::string kStdcxx = "/lib/x86_64-linux-gnu/libstdc++.so.6";

Site MakeSite(double bytes, double count, std::vector<Frame> frames, double var = 0) {
  Site s;
  s.resource = Resource::kHeap;
  s.bytes = bytes;
  s.count = count;
  s.var_bytes = var;
  s.frames = std::move(frames);
  s.key = SiteKey(s.resource, s.label, s.frames);
  return s;
}

// operator new (libstdc++) <- std::vector internals inlined from a system
// header <- the user's function <- its callers.
std::vector<Frame> CxxStack(const std::string& caller, uint32_t line) {
  return {In(Fn("operator new(unsigned long)"), kStdcxx),
          In(Fn("std::__new_allocator<int>::allocate(unsigned long, void const*)",
                "/usr/include/c++/12/bits/new_allocator.h", 137, true),
             kExe),
          In(Fn("Cache::grow()", "src/cache.cc", line), kExe), In(Fn(caller, "src/server.cc", 40), kExe),
          In(Fn("main", "src/main.cc", 9), kExe)};
}

TEST(Group, RuntimeFramesAndTheInnermostUserFrame) {
  EXPECT_TRUE(IsRuntimeFrame(In(Fn("malloc"), kLibc)));
  EXPECT_TRUE(IsRuntimeFrame(In(Fn("operator new(unsigned long)"), kExe)));  // a static build
  EXPECT_TRUE(IsRuntimeFrame(In(Fn("strdup"), kExe)));
  EXPECT_TRUE(IsRuntimeFrame(In(Fn("std::vector<int>::_M_realloc_insert(int&&)"), kExe)));
  EXPECT_TRUE(IsRuntimeFrame(In(Fn("foo", "/usr/include/c++/12/bits/stl_vector.h", 3, true), kExe)));
  EXPECT_TRUE(IsRuntimeFrame(In(Fn(""), "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")));
  EXPECT_TRUE(IsRuntimeFrame(In(Fn("_dl_init"), "/lib64/ld-linux-x86-64.so.2")));
  EXPECT_FALSE(IsRuntimeFrame(In(Fn("Cache::grow()", "src/cache.cc", 3), kExe)));
  EXPECT_FALSE(IsRuntimeFrame(In(Fn("mallocator_init"), kExe)));
  EXPECT_FALSE(IsRuntimeFrame(In(Fn(""), kExe)));  // no symbol in the program: still the program's

  EXPECT_EQ(InnermostUserFrame(CxxStack("serve", 10)), 2u);
  EXPECT_EQ(InnermostUserFrame({In(Fn("malloc"), kLibc), In(Fn("_dl_init"), "/lib64/ld-linux-x86-64.so.2")}), 0u);
  EXPECT_EQ(InnermostUserFrame({}), 0u);
}

TEST(Group, DefaultKeepsEveryStack) {
  std::vector<Site> sites = {MakeSite(100, 1, CxxStack("serve", 10)), MakeSite(50, 1, CxxStack("reload", 10))};
  EXPECT_EQ(Regroup(sites, Grouping{}).size(), 2u);
}

TEST(Group, ByFunctionFoldsOnTheInnermostUserFrame) {
  std::vector<Site> sites = {MakeSite(100, 1, CxxStack("serve", 10)), MakeSite(50, 2, CxxStack("reload", 10)),
                             MakeSite(25, 1, CxxStack("serve", 11)),
                             MakeSite(7, 1, {In(Fn("parse", "src/p.c", 5), kExe), In(Fn("main"), kExe)})};
  std::vector<Site> by_function = Regroup(sites, Grouping{GroupBy::kFunction, 0});
  ASSERT_EQ(by_function.size(), 2u);
  EXPECT_EQ(by_function[0].bytes, 175);
  EXPECT_EQ(by_function[0].count, 4);
  ASSERT_EQ(by_function[0].frames.size(), 1u);
  EXPECT_EQ(by_function[0].frames[0].function, "Cache::grow()");
  EXPECT_EQ(by_function[0].frames[0].file, "src/cache.cc");
  EXPECT_EQ(by_function[0].frames[0].line, 0u);  // lines 10 and 11 folded: no one line
  EXPECT_EQ(by_function[1].frames[0].function, "parse");
  EXPECT_EQ(by_function[1].frames[0].line, 5u);

  // --depth 2: the function and its caller.
  std::vector<Site> two = Regroup(sites, Grouping{GroupBy::kFunction, 2});
  ASSERT_EQ(two.size(), 3u);
  EXPECT_EQ(two[0].bytes, 125);  // Cache::grow() <- serve
  EXPECT_EQ(two[0].frames[1].function, "serve");
}

TEST(Group, StackDepthFoldsOnTheInnermostFrames) {
  std::vector<Site> sites = {MakeSite(100, 1, CxxStack("serve", 10)), MakeSite(50, 2, CxxStack("reload", 10)),
                             MakeSite(25, 1, CxxStack("serve", 11))};
  std::vector<Site> three = Regroup(sites, Grouping{GroupBy::kStack, 3});
  ASSERT_EQ(three.size(), 2u);
  EXPECT_EQ(three[0].bytes, 150);
  EXPECT_EQ(three[0].frames.size(), 3u);
  EXPECT_EQ(three[0].frames[2].line, 10u);
  EXPECT_EQ(Regroup(sites, Grouping{GroupBy::kStack, 1}).size(), 1u);
}

Report Growth(std::vector<Site> sites, bool exact = true) {
  Report r;
  r.kind = ReportKind::kGrowth;
  r.exact = exact;
  r.sites = std::move(sites);
  SortSites(r.sites);
  DumpInfo before, after;
  before.path = "a<1>.dump";
  after.path = "b&2.dump";
  r.baseline.push_back(before);
  r.dumps.push_back(after);
  return r;
}

TEST(CheckRender, XmlEscape) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlEscape("std::map<int, long>::find"), "std::map&lt;int, long&gt;::find");
  EXPECT_EQ(XmlEscape(std::string("bell\x07 nul\0x", 11)), "bell? nul?x");
  EXPECT_EQ(XmlEscape("caf\xc3\xa9 \xff\xfe ok"), "caf\xc3\xa9 ?? ok");  // valid UTF-8 kept
  EXPECT_EQ(XmlEscape("line\nnext"), "line\nnext");
}

TEST(CheckRender, JunitHasOneCasePerRuleAndPerGrowingSite) {
  Report d = Growth({MakeSite(4096, 2, {In(Fn("std::vector<int, A<B>>::grow \"x\""), kExe), In(Fn("leaky", "src/a&b.c", 3), kExe)}),
                     MakeSite(100, 1, {In(Fn("small", "src/s.c", 4), kExe)}),
                     MakeSite(-50, -1, {In(Fn("shrunk", "src/s.c", 9), kExe)}),
                     MakeSite(64, 1, {In(Fn("cache_fill", "src/c.c", 1), kExe)})});
  Thresholds t;
  t.max_site_bytes = 1000;
  Suppressions supp = Suppressions::Parse("leak:cache_fill\n", "s");
  CheckResult r = Check(d, t, supp);
  ASSERT_FALSE(r.passed);
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_EQ(r.rules[0].name, "max-site-bytes");
  EXPECT_EQ(r.rules[0].value, 4096);
  ASSERT_EQ(r.suppressed_sites.size(), 1u);
  EXPECT_EQ(r.suppressed_sites[0].pattern, "cache_fill");

  const std::string xml = RenderCheckJunit(r, d, RenderOptions{});
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"leaktrace check\" tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"1\"", 0), 0u) << xml;
  EXPECT_NE(xml.find("name=\"max-site-bytes: heap growth of any one call site &lt;= 1000 B\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("classname=\"leaktrace.sites.heap\" name=\"leaky (src/a&amp;b.c:3)\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("message=\"heap grew by +4.0 KiB in +2 allocations\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("std::vector&lt;int, A&lt;B&gt;&gt;::grow &quot;x&quot;"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped message=\"suppressed by leak:cache_fill"), std::string::npos) << xml;
  EXPECT_NE(xml.find("property name=\"before\" value=\"a&lt;1&gt;.dump\""), std::string::npos) << xml;
  EXPECT_EQ(xml.find("shrunk"), std::string::npos) << xml;  // only sites that grew are tests
}

TEST(CheckRender, JunitForSampledDataCarriesTheStandardError) {
  Report d = Growth({MakeSite(1 << 20, 100, {In(Fn("leaky", "src/a.c", 3), kExe)}, 1024.0 * 1024 * 16)}, false);
  CheckResult r = Check(d, {}, {});
  ASSERT_FALSE(r.passed);
  const std::string xml = RenderCheckJunit(r, d, RenderOptions{});
  EXPECT_NE(xml.find("heap grew by +1.0 MiB ± 4.0 KiB in ~+100 allocations"), std::string::npos) << xml;
}

TEST(CheckRender, Json) {
  Report d = Growth({MakeSite(4096, 2, {In(Fn("leaky", "src/a.c", 3), kExe)}),
                     MakeSite(64, 1, {In(Fn("cache_fill", "src/c.c", 1), kExe)})});
  Thresholds t;
  t.max_bytes = 8192;
  t.max_site_bytes = 1024;
  CheckResult r = Check(d, t, Suppressions::Parse("leak:cache_fill\n", "s"));
  nlohmann::ordered_json j = CheckToJson(r, d, t, RenderOptions{});
  EXPECT_EQ(j["kind"], "check");
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["thresholds"]["max_bytes"], 8192);
  ASSERT_EQ(j["rules"].size(), 2u);
  EXPECT_EQ(j["rules"][0]["name"], "max-bytes");
  EXPECT_EQ(j["rules"][0]["passed"], true);
  EXPECT_EQ(j["rules"][0]["value"], 4096);
  EXPECT_EQ(j["rules"][1]["name"], "max-site-bytes");
  EXPECT_EQ(j["rules"][1]["passed"], false);
  EXPECT_EQ(j["suppressed"], 1);
  EXPECT_EQ(j["summary"]["heap"]["bytes"], 4096);
  ASSERT_EQ(j["sites"].size(), 1u);
  EXPECT_EQ(j["sites"][0]["frames"][0]["function"], "leaky");
}

}  // namespace
}  // namespace leaktrace::reporter
