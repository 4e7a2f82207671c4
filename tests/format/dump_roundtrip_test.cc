// The dump format: what the writer produces, the reader gives back exactly;
// anything damaged is refused with a one-line error naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "format/dump_reader.h"
#include "format/dump_writer.h"

namespace leaktrace::format {
namespace {

std::vector<uint8_t> SampleDumpBytes() {
  DumpBuffer buffer;
  DumpWriter w(buffer);
  ProcessRecord p;
  p.pid = 4242;
  p.ppid = 1;
  p.seq = 3;
  p.flags = kProcessExactMode;
  p.trigger = Trigger::kInterval;
  p.sample_interval = 1;
  p.snapshot_realtime_ns = 1700000000123456789;
  p.start_realtime_ns = 1700000000000000000;
  p.program = "server";
  p.exe_path = "/usr/bin/server";
  static const char kCmdline[] = "server\0--port\0" "8080";
  p.cmdline = kCmdline;
  p.cmdline_size = sizeof kCmdline - 1;
  w.WriteProcess(p);

  w.BeginSection(SectionType::kModules);
  const uint8_t build_id[] = {0xde, 0xad, 0xbe, 0xef};
  SegmentRecord seg{0x555500001000, 0x555500005000, 0x1000, 5};
  ModuleRecord m;
  m.path = "/usr/bin/server";
  m.build_id = build_id;
  m.build_id_size = sizeof build_id;
  m.load_bias = 0x555500000000;
  m.flags = kModuleMainProgram;
  m.segments = &seg;
  m.segment_count = 1;
  w.WriteModule(m);
  w.EndSection();

  w.BeginSection(SectionType::kStacks);
  const uint64_t pcs[] = {0x555500001234, 0x555500002345};
  w.WriteStack(StackRecord{7, 0, pcs, 2});
  w.EndSection();

  w.BeginSection(SectionType::kSites);
  SiteRecord s;
  s.stack_id = 7;
  s.live_count = 100;
  s.live_bytes = 4800;
  s.alloc_count = 150;
  s.alloc_bytes = 7200;
  s.live_samples = 100;
  w.WriteSite(s);
  SiteRecord t;  // a thread site: 3 joinable threads that ended, not joined
  t.resource = Resource::kThread;
  t.stack_id = 7;
  t.live_count = t.alloc_count = 3;
  t.live_bytes = t.alloc_bytes = 3 * 8388608.0;
  t.live_samples = 3;
  t.label = "exited, not joined";
  w.WriteSite(t);
  w.EndSection();

  w.BeginSection(SectionType::kHealth);
  w.WriteHealth("dropped_stacks", 0);
  w.EndSection();
  EXPECT_TRUE(w.Finish());
  return std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.size());
}

TEST(DumpFormat, RoundTripsEveryField) {
  const Dump d = ParseDump(SampleDumpBytes(), "x.dump");
  EXPECT_EQ(d.version, kVersion);
  EXPECT_EQ(d.process.pid, 4242u);
  EXPECT_EQ(d.process.seq, 3u);
  EXPECT_TRUE(d.process.exact());
  EXPECT_EQ(d.process.trigger, Trigger::kInterval);
  EXPECT_EQ(d.process.program, "server");
  EXPECT_EQ(d.process.argv, (std::vector<std::string>{"server", "--port", "8080"}));
  ASSERT_EQ(d.modules.size(), 1u);
  EXPECT_EQ(d.modules[0].BuildIdHex(), "deadbeef");
  EXPECT_EQ(d.modules[0].load_bias, 0x555500000000u);
  ASSERT_EQ(d.modules[0].segments.size(), 1u);
  EXPECT_EQ(d.FindModule(0x555500001234), &d.modules[0]);
  EXPECT_EQ(d.FindModule(0x555500005000), nullptr);
  ASSERT_EQ(d.stacks.size(), 1u);
  EXPECT_EQ(d.stacks[0].pcs, (std::vector<uint64_t>{0x555500001234, 0x555500002345}));
  ASSERT_EQ(d.sites.size(), 2u);
  EXPECT_EQ(d.sites[0].live_bytes, 4800);
  EXPECT_EQ(d.sites[0].alloc_count, 150);
  EXPECT_EQ(d.sites[1].resource, Resource::kThread);
  EXPECT_EQ(d.sites[1].live_count, 3);
  EXPECT_EQ(d.sites[1].live_bytes, 3 * 8388608.0);
  EXPECT_EQ(d.sites[1].label, "exited, not joined");
  EXPECT_STREQ(ResourceName(d.sites[1].resource), "thread");
  ASSERT_EQ(d.health.size(), 1u);
  EXPECT_EQ(d.health[0].first, "dropped_stacks");
}

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  try {
    ParseDump(bytes, "bad.dump");
  } catch (const DumpError& e) {
    return e.what();
  }
  return "";
}

// The smallest module record is 24 bytes (two empty strings, load bias,
// flags, no segments): a section of nothing else is whole, not corrupt.
TEST(DumpFormat, ModulesOfTheSmallestSizeAreRead) {
  DumpBuffer buffer;
  DumpWriter w(buffer);
  ProcessRecord p;
  p.pid = 1;
  p.sample_interval = 1;
  p.program = "x";
  w.WriteProcess(p);
  w.BeginSection(SectionType::kModules);
  for (int i = 0; i < 7; ++i) w.WriteModule(ModuleRecord{});
  w.EndSection();
  ASSERT_TRUE(w.Finish());
  const Dump d = ParseDump(std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.size()), "small.dump");
  ASSERT_EQ(d.modules.size(), 7u);
  EXPECT_EQ(d.modules[6].path, "");
  EXPECT_TRUE(d.modules[6].segments.empty());
}

TEST(DumpFormat, RefusesEmptyGarbageAndTruncatedFiles) {
  EXPECT_NE(ErrorOf({}).find("bad.dump: empty file"), std::string::npos);
  EXPECT_NE(ErrorOf({'h', 'e', 'l', 'l', 'o'}).find("not a leaktrace dump"), std::string::npos);
  const std::vector<uint8_t> good = SampleDumpBytes();
  for (size_t cut = 1; cut < good.size(); cut += 7) {
    std::vector<uint8_t> truncated(good.begin(), good.begin() + static_cast<long>(cut));
    const std::string error = ErrorOf(truncated);
    EXPECT_FALSE(error.empty()) << "a dump cut at " << cut << " bytes was accepted";
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
}

TEST(DumpFormat, EveryFlippedBitIsCaught) {
  const std::vector<uint8_t> good = SampleDumpBytes();
  for (size_t byte = 0; byte < good.size(); ++byte) {
    std::vector<uint8_t> flipped = good;
    flipped[byte] ^= 0x10;
    EXPECT_FALSE(ErrorOf(flipped).empty()) << "flip at byte " << byte << " went unnoticed";
  }
}

TEST(DumpFormat, NewerVersionAsksForAnUpgrade) {
  std::vector<uint8_t> bytes = SampleDumpBytes();
  const uint32_t newer = kVersion + 1;
  std::memcpy(bytes.data() + 8, &newer, 4);
  EXPECT_NE(ErrorOf(bytes).find("newer than this leaktrace reads"), std::string::npos);
}

TEST(DumpFormat, MissingFileNamesTheFile) {
  try {
    ReadDump("/nonexistent/dir/x.dump");
    FAIL() << "no error";
  } catch (const DumpError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.dump: cannot open"), std::string::npos);
  }
}

}  // namespace
}  // namespace leaktrace::format
