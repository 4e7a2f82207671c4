// A report from a dump (report_from_dump.h): frames expanded and cleaned
// (CleanStack), sites keyed so that they match across runs and builds.
#include <gtest/gtest.h>

#include "reporter/report_from_dump.h"
#include "tests/reporter/server_runs.h"

namespace leaktrace::reporter {
namespace {

using format::Resource;
using namespace testing;  // FakeSymbols, Fn, the server runs (server_runs.h)
using test_support::DumpBuilder;

TEST(Symbolize, ExpandsInlineFramesAndDropsLeaktraceFrames) {
  FakeSymbols symbols = ServerSymbols();
  format::Dump dump = ServerRun(kBiasA)
                          .Stack(1, {kLibBias + 0x500, kBiasA + 0x1000, kBiasA + 0x2000, kBiasA + 0x3000})
                          .Site(Resource::kHeap, 1, 4800, 100)
                          .Build();
  Report r = FromDump(dump, symbols.Source());
  ASSERT_EQ(r.sites.size(), 1u);
  const Site& s = r.sites[0];
  ASSERT_EQ(s.frames.size(), 4u);
  EXPECT_EQ(s.frames[0].function, "read_line");
  EXPECT_TRUE(s.frames[0].inlined);
  EXPECT_EQ(s.frames[1].function, "parse_header");
  EXPECT_EQ(s.frames[1].line, 120u);
  EXPECT_EQ(s.frames[3].function, "main");
  EXPECT_EQ(s.bytes, 4800);
  EXPECT_EQ(s.count, 100);
  EXPECT_TRUE(r.exact);
  ASSERT_EQ(r.dumps.size(), 1u);
  EXPECT_EQ(r.dumps[0].program, "server");
}

TEST(Symbolize, SitesThatSymbolizeAlikeAreCombined) {
  // Two pcs on one source line: one call site for people.
  FakeSymbols symbols = ServerSymbols();
  format::Dump dump = ServerRun(kBiasA)
                          .Stack(1, {kBiasA + 0x1000, kBiasA + 0x2000})
                          .Stack(2, {kBiasA + 0x1004, kBiasA + 0x2000})
                          .Site(Resource::kHeap, 1, 100, 1, 10)
                          .Site(Resource::kHeap, 2, 300, 3, 30)
                          .Build();
  Report r = FromDump(dump, symbols.Source());
  ASSERT_EQ(r.sites.size(), 1u);
  EXPECT_EQ(r.sites[0].bytes, 400);
  EXPECT_EQ(r.sites[0].count, 4);
  EXPECT_EQ(r.sites[0].var_bytes, 40);
}

TEST(Symbolize, LabelAndResourceSeparateSites) {
  FakeSymbols symbols = ServerSymbols();
  format::Dump dump = ServerRun(kBiasA)
                          .Stack(1, {kBiasA + 0x2000})
                          .Site(Resource::kFd, 1, 0, 2, 0, "socket")
                          .Site(Resource::kFd, 1, 0, 1, 0, "file")
                          .Site(Resource::kHeap, 1, 64, 1)
                          .Build();
  Report r = FromDump(dump, symbols.Source());
  EXPECT_EQ(r.sites.size(), 3u);
}

TEST(Symbolize, MissingStackGivesEmptyFrames) {
  FakeSymbols symbols = ServerSymbols();
  format::Dump dump = ServerRun(kBiasA).Site(Resource::kHeap, 42, 8, 1).InMemory();  // the reader would refuse it
  Report r = FromDump(dump, symbols.Source());
  ASSERT_EQ(r.sites.size(), 1u);
  EXPECT_TRUE(r.sites[0].frames.empty());
}

TEST(SiteKey, UnknownFunctionsMatchByModuleOffsetNotAddress) {
  // No symbols at all: frames are identified by module + build-id + offset.
  FakeSymbols none;
  format::Dump a = ServerRun(kBiasA).Stack(1, {kBiasA + 0x7777}).Site(Resource::kHeap, 1, 10, 1).Build();
  format::Dump b = ServerRun(kBiasB, 200).Stack(9, {kBiasB + 0x7777}).Site(Resource::kHeap, 9, 30, 3).Build();
  Report ra = FromDump(a, none.Source());
  Report rb = FromDump(b, none.Source());
  ASSERT_EQ(ra.sites.size(), 1u);
  ASSERT_EQ(rb.sites.size(), 1u);
  EXPECT_EQ(ra.sites[0].key, rb.sites[0].key);
  EXPECT_EQ(DisplayName(ra.sites[0].frames[0]), "server+0x7777");

  // Another build of the binary: same offset means nothing.
  format::Dump c = DumpBuilder("server", 300, 1)
                       .Exact()
                       .Module("/usr/bin/server", kBiasB, "\xab\xcd")
                       .Stack(1, {kBiasB + 0x7777})
                       .Site(Resource::kHeap, 1, 30, 3)
                       .Build();
  EXPECT_NE(FromDump(c, none.Source()).sites[0].key, ra.sites[0].key);
}

TEST(SiteKey, KnownFunctionsMatchBySourceLineEvenIfModuleMoved) {
  std::vector<Frame> frames = {Fn("f", "a.c", 3)};
  frames[0].module = "/opt/v1/server";
  frames[0].module_offset = 0x10;
  std::vector<Frame> moved = frames;
  moved[0].module = "/opt/v2/server";
  moved[0].module_offset = 0x20;
  EXPECT_EQ(SiteKey(Resource::kHeap, "", frames), SiteKey(Resource::kHeap, "", moved));
  EXPECT_NE(SiteKey(Resource::kHeap, "", frames), SiteKey(Resource::kMmap, "", frames));
  EXPECT_NE(SiteKey(Resource::kHeap, "", frames), SiteKey(Resource::kHeap, "x", frames));
}

// issue 14: the one place frames leave a stack (CleanStack, used by FromDump):
// leaktrace's own, allocator wrappers at the top (built-in list and
// --alloc-fn), C start-up frames at the bottom unless --full-stacks.
TEST(CleanStack, WrappersAtTheTopAndStartupAtTheBottom) {
  constexpr uint64_t kB = 0x555500000000, kLib = 0x7f0000000000, kC = 0x7f1000000000;
  FakeSymbols symbols;
  symbols.Add("libleaktrace.so", 0x10, {Fn("malloc")});
  symbols.Add("redis-server", 0x100, {Fn("ztrymalloc_usable_internal", "zmalloc.c", 1, true), Fn("zmalloc", "zmalloc.c", 2)});
  symbols.Add("redis-server", 0x200, {Fn("my_wrapper", "w.c", 3)});
  symbols.Add("redis-server", 0x300, {Fn("createObject", "object.c", 4)});
  symbols.Add("redis-server", 0x400, {Fn("main", "server.c", 5)});
  symbols.Add("libc.so.6", 0x500, {Fn("__libc_start_call_main")});
  symbols.Add("libc.so.6", 0x600, {Fn("__libc_start_main_impl")});
  symbols.Add("redis-server", 0x700, {Fn("_start")});
  const format::Dump d = DumpBuilder("redis-server")
                             .Exact()
                             .Module("/usr/bin/redis-server", kB)
                             .Module("/usr/lib/libleaktrace.so", kLib)
                             .Module("/lib/libc.so.6", kC)
                             .Stack(1, {kLib + 0x10, kB + 0x100, kB + 0x200, kB + 0x300, kB + 0x400, kC + 0x500,
                                        kC + 0x600, kB + 0x700})
                             .Stack(2, {kLib + 0x10, kB + 0x100})  // only a wrapper: keeps it
                             .Site(Resource::kHeap, 1, 100, 1)
                             .Site(Resource::kHeap, 2, 50, 1)
                             .Build();
  auto names = [](const Site& s) {
    std::string out;
    for (const Frame& f : s.frames) out += (out.empty() ? "" : " ") + f.function;
    return out;
  };
  Report r = FromDump(d, symbols.Source());
  ASSERT_EQ(r.sites.size(), 2u);
  EXPECT_EQ(names(r.sites[0]), "my_wrapper createObject main");
  EXPECT_EQ(names(r.sites[1]), "zmalloc");

  StackOptions o;
  o.alloc_fns = {"my_*"};
  r = FromDump(d, symbols.Source(), o);
  EXPECT_EQ(names(r.sites[0]), "createObject main");
  o.full_stacks = true;
  r = FromDump(d, symbols.Source(), o);
  EXPECT_EQ(names(r.sites[0]), "createObject main __libc_start_call_main __libc_start_main_impl _start");

  Frame cxx = Fn("operator new[](unsigned long)");
  EXPECT_TRUE(IsAllocatorWrapper(cxx, {}));
  EXPECT_TRUE(IsAllocatorWrapper(Fn("xmalloc(unsigned long)"), {}));
  EXPECT_TRUE(IsAllocatorWrapper(Fn("g_malloc0"), {}));
  EXPECT_TRUE(IsAllocatorWrapper(Fn("PyMem_RawMalloc"), {}));
  EXPECT_TRUE(IsAllocatorWrapper(Fn("je_malloc"), {}));
  EXPECT_FALSE(IsAllocatorWrapper(Fn("xmalloc_stats"), {}));
  EXPECT_FALSE(IsAllocatorWrapper(Fn("parse_header"), {}));
}

}  // namespace
}  // namespace leaktrace::reporter
