// Suppressions, the check gate and its renderers (JSON, JUnit).
#include <gtest/gtest.h>

#include "reporter/check.h"
#include "reporter/render.h"
#include "reporter/suppressions.h"
#include "tests/reporter/fake_symbols.h"

namespace leaktrace::reporter {
namespace {

using format::Resource;
using testing::Fn;

Site MakeSite(Resource r, double bytes, double count, double var, std::vector<Frame> frames) {
  Site s;
  s.resource = r;
  s.bytes = bytes;
  s.count = count;
  s.var_bytes = var;
  s.frames = std::move(frames);
  for (Frame& f : s.frames) f.module = f.module.empty() ? "/usr/lib/libfoo.so.1" : f.module;
  s.key = SiteKey(r, "", s.frames);
  return s;
}

// Growth between dumps whose names need escaping in XML.
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

Frame In(Frame f, const std::string& module) {
  f.module = module;
  return f;
}

const std::string kExe = "/usr/bin/server";

TEST(WildcardMatch, LeakSanitizerSemantics) {
  EXPECT_TRUE(WildcardMatch("parse", "http::parse_header"));  // substring
  EXPECT_TRUE(WildcardMatch("http::*header", "http::parse_header"));
  EXPECT_TRUE(WildcardMatch("^http::", "http::parse_header"));
  EXPECT_FALSE(WildcardMatch("^parse", "http::parse_header"));
  EXPECT_TRUE(WildcardMatch("header$", "http::parse_header"));
  EXPECT_FALSE(WildcardMatch("parse$", "http::parse_header"));
  EXPECT_TRUE(WildcardMatch("libfoo.so", "/usr/lib/libfoo.so.1"));
  EXPECT_FALSE(WildcardMatch("libbar", "/usr/lib/libfoo.so.1"));
  EXPECT_TRUE(WildcardMatch("*", "anything"));
  EXPECT_TRUE(WildcardMatch("a*b*c", "xxaYYbZZcxx"));
}

TEST(Suppressions, ParseCommentsAndBlankLines) {
  Suppressions s = Suppressions::Parse("# third-party\n\nleak:libfoo.so\n  leak:^cache_* \r\n", "supp.txt");
  EXPECT_EQ(s.size(), 2u);
}

TEST(Suppressions, BadLinesNameFileAndLine) {
  try {
    Suppressions::Parse("leak:ok\nrace:foo\n", "supp.txt");
    FAIL();
  } catch (const SuppressionError& e) {
    EXPECT_STREQ(e.what(), "supp.txt:2: unknown rule type 'race' (only 'leak:' is supported)");
  }
  EXPECT_THROW(Suppressions::Parse("leak:\n", "s"), SuppressionError);
  EXPECT_THROW(Suppressions::Parse("just words\n", "s"), SuppressionError);
  EXPECT_THROW(Suppressions::Load("/nonexistent/supp.txt"), SuppressionError);
}

TEST(Suppressions, MatchFunctionFileOrModuleOfAnyFrame) {
  Site s = MakeSite(Resource::kHeap, 10, 1, 0, {Fn("alloc_buf", "src/buf.c", 3), Fn("cache_fill", "src/cache.c", 9)});
  Suppressions by_function = Suppressions::Parse("leak:cache_fill", "s");
  Suppressions by_file = Suppressions::Parse("leak:src/buf.c", "s");
  Suppressions by_module = Suppressions::Parse("leak:libfoo", "s");
  Suppressions none = Suppressions::Parse("leak:^buf", "s");
  EXPECT_TRUE(by_function.Matches(s));
  EXPECT_TRUE(by_file.Matches(s));
  EXPECT_TRUE(by_module.Matches(s));
  EXPECT_FALSE(none.Matches(s));
}

// Debian's redis-server is a link to redis-check-rdb: its frames name that
// file, the report's header the name it ran as. A suppression of the name
// the user runs and reads matches the program's own frames too; `check`
// gives every dump's name beside its file.
TEST(Suppressions, TheNameAProgramRanAsMatchesItsOwnFrames) {
  Frame in_program = Fn("processCommand", "server.c", 10);
  in_program.module = "/usr/bin/redis-check-rdb";
  Frame in_libc = Fn("malloc");
  in_libc.module = "/lib/x86_64-linux-gnu/libc.so.6";
  const Site own = MakeSite(Resource::kHeap, 10, 1, 0, {in_program});
  const Site libc_only = MakeSite(Resource::kHeap, 10, 1, 0, {in_libc});
  Suppressions by_name = Suppressions::Parse("leak:redis-server", "s");
  const std::vector<Suppressions::ProgramName> programs = {{"/usr/bin/redis-check-rdb", "redis-server"}};
  EXPECT_FALSE(by_name.Matches(own)) << "without the dumps' names: the file's alone";
  EXPECT_NE(by_name.Match(own, programs), nullptr);
  EXPECT_EQ(by_name.Match(libc_only, programs), nullptr);

  Report diff;
  diff.kind = ReportKind::kGrowth;
  DumpInfo after;
  after.program = "redis-server";
  after.exe_path = "/usr/bin/redis-check-rdb";
  diff.dumps.push_back(after);
  diff.sites = {own};
  const CheckResult r = Check(diff, Thresholds{}, by_name);
  EXPECT_EQ(r.suppressed, 1u);
}

// issue 14: a suppression written the way output prints a location.
TEST(Suppressions, MatchFileAndLineAsOutputPrintsThem) {
  Site s = MakeSite(Resource::kHeap, 10, 1, 0,
                    {Fn("parse_header", "/work/main/examples/leaky_service.c", 28), Fn("main", "x.c", 2)});
  EXPECT_TRUE(Suppressions::Parse("leak:leaky_service.c:28", "s").Matches(s));
  EXPECT_TRUE(Suppressions::Parse("leak:examples/leaky_service.c:28", "s").Matches(s));
  EXPECT_TRUE(Suppressions::Parse("leak:leaky_*.c:28$", "s").Matches(s));
  EXPECT_FALSE(Suppressions::Parse("leak:leaky_service.c:2", "s").Matches(s));  // the line whole
  EXPECT_FALSE(Suppressions::Parse("leak:leaky_service.c:29", "s").Matches(s));
  EXPECT_TRUE(Suppressions::Parse("leak:x.c:2", "s").Matches(s));  // any frame
}

TEST(Check, DefaultRuleExactAnyGrowthFails) {
  Report d = Growth({MakeSite(Resource::kHeap, 16, 1, 0, {Fn("leaky")})});
  CheckResult r = Check(d, {}, {});
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.offending.size(), 1u);
  EXPECT_EQ(r.offending[0].frames[0].function, "leaky");
  EXPECT_TRUE(Check(Growth({MakeSite(Resource::kHeap, -16, -1, 0, {Fn("shrank")})}), {}, {}).passed);
  EXPECT_TRUE(Check(Growth({}), {}, {}).passed);
}

TEST(Check, DefaultRuleSampledToleratesNoise) {
  // Growth of 2 standard errors is noise; of 10 it is a leak.
  Report noise = Growth({MakeSite(Resource::kHeap, 2000, 2, 1000.0 * 1000, {Fn("f")})}, false);
  EXPECT_TRUE(Check(noise, {}, {}).passed);
  Report leak = Growth({MakeSite(Resource::kHeap, 10000, 10, 1000.0 * 1000, {Fn("f")})}, false);
  EXPECT_FALSE(Check(leak, {}, {}).passed);
}

TEST(Check, DefaultRuleCatchesSiteHiddenByShrinkingTotal) {
  Report d = Growth({MakeSite(Resource::kHeap, 100, 1, 0, {Fn("leak")}),
                     MakeSite(Resource::kHeap, -500, -5, 0, {Fn("evicted")})});
  CheckResult r = Check(d, {}, {});
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.offending.size(), 1u);
}

TEST(Check, DefaultRuleFdAndMmapGrowthFails) {
  EXPECT_FALSE(Check(Growth({MakeSite(Resource::kFd, 0, 1, 0, {Fn("open_log")})}), {}, {}).passed);
  EXPECT_FALSE(Check(Growth({MakeSite(Resource::kMmap, 4096, 1, 0, {Fn("map")})}), {}, {}).passed);
}

TEST(Check, Thresholds) {
  Report d = Growth({MakeSite(Resource::kHeap, 3000, 3, 0, {Fn("a")}), MakeSite(Resource::kHeap, 1500, 1, 0, {Fn("b")}),
                     MakeSite(Resource::kFd, 0, 2, 0, {Fn("c")})});
  Thresholds t;
  t.max_bytes = 5000;
  EXPECT_TRUE(Check(d, t, {}).passed);  // only given thresholds apply: fds are not checked
  t.max_bytes = 4000;
  CheckResult r = Check(d, t, {});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.offending.size(), 2u);

  Thresholds site;
  site.max_site_bytes = 2000;
  r = Check(d, site, {});
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.offending.size(), 1u);
  EXPECT_EQ(r.offending[0].frames[0].function, "a");

  Thresholds fds;
  fds.max_fds = 2;
  EXPECT_TRUE(Check(d, fds, {}).passed);
  fds.max_fds = 1;
  EXPECT_FALSE(Check(d, fds, {}).passed);
}

TEST(Check, ThreadGrowthFailsByDefaultAndMaxThreadsBoundsTheTotal) {
  // A pool that moved 3 threads from one spawning site to another, and a leak of 2.
  Report d = Growth({MakeSite(Resource::kThread, 5 * 65536.0, 5, 0, {Fn("spawn_workers")}),
                     MakeSite(Resource::kThread, -3 * 65536.0, -3, 0, {Fn("old_spawn")}),
                     MakeSite(Resource::kHeap, 0, 0, 0, {Fn("nothing")})});
  CheckResult by_default = Check(d, {}, {});
  EXPECT_FALSE(by_default.passed);
  ASSERT_EQ(by_default.rules.size(), 4u);
  EXPECT_EQ(by_default.rules[3].name, "thread-growth");
  EXPECT_EQ(by_default.rules[3].value, 2);
  ASSERT_EQ(by_default.offending.size(), 1u);
  EXPECT_EQ(by_default.offending[0].frames[0].function, "spawn_workers");

  Thresholds t;
  t.max_threads = 2;
  CheckResult within = Check(d, t, {});
  EXPECT_TRUE(within.passed);
  ASSERT_EQ(within.rules.size(), 1u);
  EXPECT_EQ(within.rules[0].name, "max-threads");
  t.max_threads = 1;
  CheckResult over = Check(d, t, {});
  EXPECT_FALSE(over.passed);
  ASSERT_EQ(over.violations.size(), 1u);
  EXPECT_EQ(over.violations[0], "live threads grew by +2, more than --max-threads 1");

  Thresholds fds_only;
  fds_only.max_fds = 0;
  EXPECT_TRUE(Check(d, fds_only, {}).passed) << "only given thresholds apply";
  EXPECT_TRUE(Check(d, {}, Suppressions::Parse("leak:spawn_workers", "s")).passed);
}

TEST(Check, SuppressedSitesAreIgnored) {
  Report d = Growth({MakeSite(Resource::kHeap, 3000, 3, 0, {Fn("third_party_init")})});
  CheckResult r = Check(d, {}, Suppressions::Parse("leak:third_party", "s"));
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.suppressed, 1u);
}

TEST(Check, ExceedsUsesNoiseOnlyForSampledData) {
  EXPECT_TRUE(Exceeds(1, 0, 0));
  EXPECT_FALSE(Exceeds(0, 0, 0));
  EXPECT_FALSE(Exceeds(290, 100 * 100, 0));
  EXPECT_TRUE(Exceeds(310, 100 * 100, 0));
  EXPECT_FALSE(Exceeds(1100, 100 * 100, 1000));
}

TEST(CheckRender, XmlEscape) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlEscape("std::map<int, long>::find"), "std::map&lt;int, long&gt;::find");
  EXPECT_EQ(XmlEscape(std::string("bell\x07 nul\0x", 11)), "bell? nul?x");
  EXPECT_EQ(XmlEscape("caf\xc3\xa9 \xff\xfe ok"), "caf\xc3\xa9 ?? ok");  // valid UTF-8 kept
  EXPECT_EQ(XmlEscape("line\nnext"), "line\nnext");
}

TEST(CheckRender, JunitHasOneCasePerRuleAndPerGrowingSite) {
  Report d = Growth({MakeSite(Resource::kHeap, 4096, 2, 0, {In(Fn("std::vector<int, A<B>>::grow \"x\""), kExe), In(Fn("leaky", "src/a&b.c", 3), kExe)}),
                     MakeSite(Resource::kHeap, 100, 1, 0, {In(Fn("small", "src/s.c", 4), kExe)}),
                     MakeSite(Resource::kHeap, -50, -1, 0, {In(Fn("shrunk", "src/s.c", 9), kExe)}),
                     MakeSite(Resource::kHeap, 64, 1, 0, {In(Fn("cache_fill", "src/c.c", 1), kExe)})});
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
  Report d = Growth({MakeSite(Resource::kHeap, 1 << 20, 100, 1024.0 * 1024 * 16, {In(Fn("leaky", "src/a.c", 3), kExe)})}, false);
  CheckResult r = Check(d, {}, {});
  ASSERT_FALSE(r.passed);
  const std::string xml = RenderCheckJunit(r, d, RenderOptions{});
  EXPECT_NE(xml.find("heap grew by +1.0 MiB ± 4.0 KiB in ~+100 allocations"), std::string::npos) << xml;
}

TEST(CheckRender, Json) {
  Report d = Growth({MakeSite(Resource::kHeap, 4096, 2, 0, {In(Fn("leaky", "src/a.c", 3), kExe)}),
                     MakeSite(Resource::kHeap, 64, 1, 0, {In(Fn("cache_fill", "src/c.c", 1), kExe)})});
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
