// The memory section: figures written by WriteMemoryFigure come back by
// name; a dump without one reads as "no memory figures" (has_memory false);
// an unknown section type of this version (what the memory section is to a
// reader older than it) is skipped, the rest of the dump read as usual; a
// repeated memory section is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/dump_reader.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::format {
namespace {

using test_support::DumpBuilder;

// A dump of "svc" with one heap site.
DumpBuilder OneSite() {
  DumpBuilder b("svc", 7, 1);
  b.SampleInterval(1).Stack(1, {0x1000}).Site(Resource::kHeap, 1, 8192, 2);
  return b;
}

std::vector<uint8_t> BytesOf(const DumpBuilder& b) {
  const std::vector<uint8_t> bytes = b.Bytes();
  EXPECT_FALSE(bytes.empty());
  return bytes;
}

DumpBuilder WithMemory() {
  DumpBuilder b = OneSite();
  b.Memory("rss", 300 << 20).Memory("allocator", 1).Memory("some_future_figure", 42);
  return b;
}

TEST(MemorySection, FiguresComeBackByName) {
  const Dump d = ParseDump(BytesOf(WithMemory()), "m.dump");
  EXPECT_TRUE(d.has_memory);
  EXPECT_EQ(d.MemoryFigure("rss"), uint64_t{300} << 20);
  EXPECT_EQ(d.MemoryFigure("allocator"), 1u);
  EXPECT_TRUE(d.HasMemoryFigure("some_future_figure"));
  EXPECT_FALSE(d.HasMemoryFigure("thread_stacks"));
  EXPECT_EQ(d.MemoryFigure("thread_stacks", 99), 99u);
  ASSERT_EQ(d.sites.size(), 1u);
}

TEST(MemorySection, AbsentMeansUnknown) {
  const Dump d = ParseDump(BytesOf(OneSite()), "m.dump");
  EXPECT_FALSE(d.has_memory);
  EXPECT_TRUE(d.memory.empty());
}

TEST(MemorySection, UnknownSectionsAreSkipped) {
  // Section type 99 with a payload no parser knows: as an older reader sees
  // the memory section.
  const Dump d = ParseDump(BytesOf(OneSite().RawSection(99, {1, 2, 3, 4, 5})), "m.dump");
  EXPECT_FALSE(d.has_memory);
  ASSERT_EQ(d.sites.size(), 1u);
  EXPECT_EQ(d.sites[0].live_bytes, 8192);
}

TEST(MemorySection, RepeatedIsRefused) {
  const auto bytes = BytesOf(WithMemory().Then([](DumpWriter& w, DumpBuffer&) {
    w.BeginSection(SectionType::kMemory);
    w.WriteMemoryFigure("rss", 300 << 20);
    w.EndSection();
  }));
  try {
    ParseDump(bytes, "m.dump");
    FAIL() << "a repeated memory section was accepted";
  } catch (const DumpError& e) {
    EXPECT_NE(std::string(e.what()).find("repeated section in the memory section"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace leaktrace::format
