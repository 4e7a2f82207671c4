// SiteKey: a site's identity held as interned parts must mean what its text
// means: equal exactly when the texts are, ordered as the texts are (the
// order of sites of equal size in every output).
#include "reporter/site_key.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace leaktrace::reporter {
namespace {

using format::Resource;
using symbolizer::Frame;

Frame Fn(const std::string& function, const std::string& file, uint32_t line) {
  Frame f;
  f.function = function;
  f.file = file;
  f.line = line;
  return f;
}

Frame Unknown(const std::string& module, const std::string& build_id, uint64_t offset) {
  Frame f;
  f.module = module;
  f.build_id = build_id;
  f.module_offset = offset;
  return f;
}

TEST(SiteKey, TextIsResourceLabelAndOneSeparatedPartPerFrame) {
  const SiteKey key(Resource::kHeap, "lbl", {Fn("f", "a.c", 12), Unknown("/usr/lib/libz.so.1", "abcd", 0x1f0)});
  EXPECT_EQ(key.str(), std::string("heap\x1f" "lbl\x1f" "Ff\x1e" "a.c\x1e" "12\x1f" "Mlibz.so.1\x1e" "abcd\x1e" "1f0"));
  EXPECT_EQ(std::string(key), key.str());
  EXPECT_EQ(SiteKey().str(), "");
}

// Names that are prefixes of each other, lines whose decimal text orders
// otherwise than their value, a label below the separators, frames of both
// kinds, stacks that are prefixes of others.
TEST(SiteKey, OrdersAndComparesAsItsText) {
  const std::vector<std::string> functions = {"", "a", "ab", "abc", "b", "operator new(unsigned long)",
                                             "\xc3\xa9t\xc3\xa9"};
  const std::vector<std::string> files = {"", "x.c", "x.cc", "/src/x.c"};
  const std::vector<uint32_t> lines = {0, 2, 10, 12, 100};
  const std::vector<std::string> labels = {"", "socket", "sock", "a\tb", "/dev/null"};
  std::mt19937 random(7);
  auto pick = [&](const auto& v) { return v[random() % v.size()]; };
  std::vector<SiteKey> keys;
  for (int i = 0; i < 400; ++i) {
    std::vector<Frame> frames(random() % 5);
    for (Frame& f : frames)
      f = random() % 4 ? Fn(pick(functions), pick(files), pick(lines))
                       : Unknown(pick(std::vector<std::string>{"/bin/srv", "/lib/libc.so.6", ""}), pick(files),
                                 pick(std::vector<uint64_t>{0x10, 0x100, 0xf}));
    keys.emplace_back(random() % 3 ? Resource::kHeap : Resource::kFd, pick(labels), frames);
  }
  for (const SiteKey& a : keys)
    for (const SiteKey& b : keys) {
      const std::string ta = a.str(), tb = b.str();
      ASSERT_EQ(a == b, ta == tb) << ta << " vs " << tb;
      ASSERT_EQ(a <=> b, ta <=> tb) << ta << " vs " << tb;
      if (a == b) ASSERT_EQ(std::hash<SiteKey>()(a), std::hash<SiteKey>()(b));
    }
}

}  // namespace
}  // namespace leaktrace::reporter
