// Suppressions and the check gate.
#include <gtest/gtest.h>

#include "reporter/check.h"
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

Report Growth(std::vector<Site> sites, bool exact = true) {
  Report r;
  r.kind = ReportKind::kGrowth;
  r.exact = exact;
  r.sites = std::move(sites);
  SortSites(r.sites);
  return r;
}

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

}  // namespace
}  // namespace leaktrace::reporter
