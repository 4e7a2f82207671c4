// The memory section: figures written by WriteMemoryFigure come back by
// name; a dump without one reads as "no memory figures" (has_memory false);
// an unknown section type of this version (what the memory section is to a
// reader older than it) is skipped, the rest of the dump read as usual; a
// repeated memory section is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/dump_reader.h"
#include "format/dump_writer.h"

namespace leaktrace::format {
namespace {

// A dump with one heap site, then `extra` written by `add` before the end.
template <typename Add>
std::vector<uint8_t> MakeDump(Add&& add) {
  DumpBuffer buffer;
  DumpWriter w(buffer);
  ProcessRecord p;
  p.pid = 7;
  p.seq = 1;
  p.sample_interval = 1;
  p.program = "svc";
  w.WriteProcess(p);
  w.BeginSection(SectionType::kStacks);
  const uint64_t pcs[] = {0x1000};
  w.WriteStack(StackRecord{1, 0, pcs, 1});
  w.EndSection();
  w.BeginSection(SectionType::kSites);
  SiteRecord heap;
  heap.stack_id = 1;
  heap.live_count = 2;
  heap.live_bytes = 8192;
  w.WriteSite(heap);
  w.EndSection();
  add(w, buffer);
  EXPECT_TRUE(w.Finish());
  return std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.size());
}

void WriteMemory(DumpWriter& w) {
  w.BeginSection(SectionType::kMemory);
  w.WriteMemoryFigure("rss", 300 << 20);
  w.WriteMemoryFigure("allocator", 1);
  w.WriteMemoryFigure("some_future_figure", 42);
  w.EndSection();
}

TEST(MemorySection, FiguresComeBackByName) {
  const Dump d = ParseDump(MakeDump([](DumpWriter& w, DumpBuffer&) { WriteMemory(w); }), "m.dump");
  EXPECT_TRUE(d.has_memory);
  EXPECT_EQ(d.MemoryFigure("rss"), uint64_t{300} << 20);
  EXPECT_EQ(d.MemoryFigure("allocator"), 1u);
  EXPECT_TRUE(d.HasMemoryFigure("some_future_figure"));
  EXPECT_FALSE(d.HasMemoryFigure("thread_stacks"));
  EXPECT_EQ(d.MemoryFigure("thread_stacks", 99), 99u);
  ASSERT_EQ(d.sites.size(), 1u);
}

TEST(MemorySection, AbsentMeansUnknown) {
  const Dump d = ParseDump(MakeDump([](DumpWriter&, DumpBuffer&) {}), "m.dump");
  EXPECT_FALSE(d.has_memory);
  EXPECT_TRUE(d.memory.empty());
}

TEST(MemorySection, UnknownSectionsAreSkipped) {
  // Section type 99 with a payload no parser knows: as an older reader sees
  // the memory section.
  const Dump d = ParseDump(MakeDump([](DumpWriter&, DumpBuffer& buffer) {
                             const uint32_t type = 99, flags = 0;
                             const uint64_t length = 5;
                             buffer.Append(&type, 4);
                             buffer.Append(&flags, 4);
                             buffer.Append(&length, 8);
                             buffer.Append("\1\2\3\4\5", 5);
                           }),
                           "m.dump");
  EXPECT_FALSE(d.has_memory);
  ASSERT_EQ(d.sites.size(), 1u);
  EXPECT_EQ(d.sites[0].live_bytes, 8192);
}

TEST(MemorySection, RepeatedIsRefused) {
  const auto bytes = MakeDump([](DumpWriter& w, DumpBuffer&) {
    WriteMemory(w);
    WriteMemory(w);
  });
  try {
    ParseDump(bytes, "m.dump");
    FAIL() << "a repeated memory section was accepted";
  } catch (const DumpError& e) {
    EXPECT_NE(std::string(e.what()).find("repeated section in the memory section"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace leaktrace::format
