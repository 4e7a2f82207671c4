// The dump format: what the writer produces, the reader gives back exactly;
// anything damaged is refused with a one-line error naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "format/dump_buffer.h"
#include "format/dump_reader.h"
#include "format/dump_writer.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::format {
namespace {

using test_support::DumpBuilder;

std::vector<uint8_t> SampleDumpBytes() {
  Module m;
  m.path = "/usr/bin/server";
  m.build_id = "\xde\xad\xbe\xef";
  m.load_bias = 0x555500000000;
  m.flags = kModuleMainProgram;
  m.segments = {{0x555500001000, 0x555500005000, 0x1000, 5}};
  Site s;
  s.stack_id = 7;
  s.live_count = 100;
  s.live_bytes = 4800;
  s.alloc_count = 150;
  s.alloc_bytes = 7200;
  s.live_samples = 100;
  Site t;  // a thread site: 3 joinable threads that ended, not joined
  t.resource = Resource::kThread;
  t.stack_id = 7;
  t.live_count = t.alloc_count = 3;
  t.live_bytes = t.alloc_bytes = 3 * 8388608.0;
  t.live_samples = 3;
  t.label = "exited, not joined";
  const std::vector<uint8_t> bytes = DumpBuilder("server", 4242, 3)
                                         .Exact()
                                         .Trigger(Trigger::kInterval)
                                         .SnapshotTime(1700000000123456789, 0)
                                         .StartTime(1700000000000000000, 0)
                                         .ExePath("/usr/bin/server")
                                         .Argv({"server", "--port", "8080"})
                                         .Module(std::move(m))
                                         .Stack(7, {0x555500001234, 0x555500002345})
                                         .Site(std::move(s))
                                         .Site(std::move(t))
                                         .Health("dropped_stacks", 0)
                                         .Bytes();
  EXPECT_FALSE(bytes.empty());
  return bytes;
}

// A finished dump renumbered (the library's, when another process took its
// name): the new seq reads back, the checksum holds, nothing else moved.
TEST(DumpFormat, ARenumberedDumpReadsBackWithItsNewSeq) {
  const std::vector<uint8_t> bytes = SampleDumpBytes();
  DumpBuffer buffer;
  ASSERT_TRUE(buffer.Append(bytes.data(), bytes.size()));
  ASSERT_TRUE(RenumberDump(buffer, 9));
  const std::vector<uint8_t> renumbered(buffer.data(), buffer.data() + buffer.size());
  const Dump before = ParseDump(bytes, "before.dump");
  const Dump after = ParseDump(renumbered, "after.dump");  // throws on a bad checksum
  EXPECT_EQ(after.process.seq, 9u);
  EXPECT_EQ(after.process.pid, before.process.pid);
  EXPECT_EQ(after.process.program, before.process.program);
  ASSERT_EQ(after.sites.size(), before.sites.size());
  EXPECT_EQ(after.sites[0].live_bytes, before.sites[0].live_bytes);
  size_t differing = 0;
  for (size_t i = 0; i < bytes.size(); ++i) differing += bytes[i] != renumbered[i];
  EXPECT_LE(differing, 1u + DumpWriter::kChecksumBytes);  // the seq's low byte, the checksum

  DumpBuffer not_a_dump;
  const uint8_t junk[64] = {1, 2, 3};
  ASSERT_TRUE(not_a_dump.Append(junk, sizeof junk));
  EXPECT_FALSE(RenumberDump(not_a_dump, 9));
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
  DumpBuilder b("x", 1);
  b.SampleInterval(1);
  for (int i = 0; i < 7; ++i) b.Module(Module{});
  const std::vector<uint8_t> bytes = b.Bytes();
  ASSERT_FALSE(bytes.empty());
  const Dump d = ParseDump(bytes, "small.dump");
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

TEST(DumpFormat, AnotherHeaderSizeIsRefused) {
  std::vector<uint8_t> bytes = SampleDumpBytes();
  const uint32_t size = kFileHeaderBytes + 8;
  std::memcpy(bytes.data() + 12, &size, 4);
  EXPECT_NE(ErrorOf(bytes).find("bad.dump: corrupt dump: file header size 24 (version 1 has 16)"), std::string::npos)
      << ErrorOf(bytes);
}

TEST(DumpFormat, NewerVersionAsksForAnUpgrade) {
  std::vector<uint8_t> bytes = SampleDumpBytes();
  const uint32_t newer = kVersion + 1;
  std::memcpy(bytes.data() + 8, &newer, 4);
  EXPECT_NE(ErrorOf(bytes).find("newer than this leaktrace reads"), std::string::npos);
}

// A file that is no dump is refused from its first bytes, not read whole
// first: /dev/zero (a typo) was read for ever, a big log into memory.
TEST(DumpFormat, AnEndlessFileThatIsNoDumpIsRefusedAtOnce) {
  try {
    ReadDump("/dev/zero");
    FAIL() << "no error";
  } catch (const DumpError& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/zero: not a leaktrace dump (bad magic)"), std::string::npos) << e.what();
  }
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
