// Folded stacks and the HTML flame graph (reporter/export_flame.h).
#include <gtest/gtest.h>

#include "reporter/export_flame.h"
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

TEST(ExportHtml, NamesFunctionsEscapesScriptAndLoadsNothing) {
  Report r = Live();
  r.sites[0].frames[2].function = "evil</script><img src=x>";
  const std::string html = RenderFlameHtml(r, Resource::kHeap, "t<1>");
  EXPECT_NE(html.find("read_line"), std::string::npos);
  EXPECT_EQ(html.find("</script><img"), std::string::npos);
  EXPECT_NE(html.find("t&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
}

}  // namespace
}  // namespace leaktrace::reporter
