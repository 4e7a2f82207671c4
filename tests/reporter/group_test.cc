// Grouping (--group-by, --depth).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace leaktrace::reporter
