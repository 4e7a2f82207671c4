// InternedString: one copy per text, equality by identity, ordering and
// reading as std::string, safe to create from several threads.
#include "symbolizer/interned_string.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace leaktrace::symbolizer {
namespace {

TEST(InternedString, EqualTextsShareOneCopy) {
  const std::string text = "parse_header(char const*)";
  InternedString a{text}, b{std::string_view(text)}, c{text.c_str()};
  EXPECT_EQ(&a.str(), &b.str());
  EXPECT_EQ(&a.str(), &c.str());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, InternedString("parse_body"));
  EXPECT_EQ(a, text);
  EXPECT_EQ(a, "parse_header(char const*)");
  EXPECT_EQ(a.size(), text.size());
}

TEST(InternedString, EmptyIsTheDefaultAndClearMakesIt) {
  InternedString empty, from_text(""), named("main");
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty, from_text);
  EXPECT_EQ(empty.str(), "");
  named.clear();
  EXPECT_EQ(named, empty);
}

TEST(InternedString, OrdersAndConcatenatesAsStdString) {
  InternedString a("abc"), b("abd"), prefix("ab");
  EXPECT_LT(a, b);
  EXPECT_LT(prefix, a);
  EXPECT_GT(b, prefix);
  EXPECT_EQ(a + "/x", "abc/x");
  EXPECT_EQ("x/" + a, "x/abc");
  EXPECT_EQ(std::string_view(a).substr(1), "bc");
}

TEST(InternedString, ThreadsInterningTheSameTextsGetTheSameCopies) {
  constexpr int kThreads = 4, kTexts = 500;
  std::vector<std::vector<const std::string*>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t, &seen] {
      for (int i = 0; i < kTexts; ++i) seen[t].push_back(&InternedString("text " + std::to_string(i)).str());
    });
  for (std::thread& th : threads) th.join();
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t], seen[0]);
}

}  // namespace
}  // namespace leaktrace::symbolizer
