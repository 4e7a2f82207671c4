// The ages section: births written by DumpWriter::WriteAge come back exactly;
// a damaged ages section is refused with one line naming the file; a dump
// without one reads as "no ages" (has_ages false), not as "nothing is old".
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "format/dump_reader.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::format {
namespace {

using test_support::DumpBuilder;

enum class Ages { kNone, kWriter, kRaw };

// A dump with two sites (heap on stack 1, fd on stack 2) and, per `ages`,
// no ages section, one written by WriteAge, or `raw` as the ages payload.
std::vector<uint8_t> MakeDump(Ages ages, const std::vector<uint8_t>& raw = {}) {
  Site fd;
  fd.resource = Resource::kFd;
  fd.stack_id = 2;
  fd.live_count = 1;
  fd.label = "pipe";
  DumpBuilder b("svc", 77, 1);
  b.SampleInterval(524288)
      .SnapshotTime(0, 10'000'000'000)
      .Stack(1, {0x1000, 0x2000})
      .Stack(2, {0x2000})
      .Site(Resource::kHeap, 1, 3.5 * 4096, 3.5)
      .Site(std::move(fd));
  if (ages == Ages::kWriter) b.Age(0, 1'000'000'000, 3.5, 4096).Age(1, 9'000'000'000, 1, 0);
  if (ages == Ages::kRaw) b.RawSection(static_cast<uint32_t>(SectionType::kAges), raw);
  const std::vector<uint8_t> bytes = b.Bytes();
  EXPECT_FALSE(bytes.empty());
  return bytes;
}

template <typename T>
void Put(std::vector<uint8_t>& out, T v) {
  const auto* b = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), b, b + sizeof v);
}

// One raw age record: site, reserved, birth, weight, size.
void PutRecord(std::vector<uint8_t>& out, uint32_t site, uint32_t reserved, int64_t birth, double weight,
               uint64_t size) {
  Put(out, site);
  Put(out, reserved);
  Put(out, birth);
  Put(out, weight);
  Put(out, size);
}

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  try {
    ParseDump(bytes, "aged.dump");
  } catch (const DumpError& e) {
    return e.what();
  }
  return "";
}

TEST(DumpAges, RoundTripThroughTheWriter) {
  const Dump d = ParseDump(MakeDump(Ages::kWriter), "aged.dump");
  EXPECT_TRUE(d.has_ages);
  ASSERT_EQ(d.ages.size(), 2u);
  EXPECT_EQ(d.ages[0].site, 0u);
  EXPECT_EQ(d.ages[0].birth_monotonic_ns, 1'000'000'000);
  EXPECT_EQ(d.ages[0].weight, 3.5);
  EXPECT_EQ(d.ages[0].size, 4096u);
  EXPECT_EQ(d.ages[1].site, 1u);
  EXPECT_EQ(d.sites[d.ages[1].site].resource, Resource::kFd);
  EXPECT_EQ(d.ages[1].birth_monotonic_ns, 9'000'000'000);
  EXPECT_EQ(d.ages[1].weight, 1);
}

TEST(DumpAges, ADumpWithoutTheSectionSaysSo) {
  const Dump d = ParseDump(MakeDump(Ages::kNone), "old.dump");
  EXPECT_FALSE(d.has_ages);
  EXPECT_TRUE(d.ages.empty());
}

TEST(DumpAges, AnEmptySectionIsStillASection) {
  std::vector<uint8_t> raw;
  Put(raw, uint32_t{0});
  const Dump d = ParseDump(MakeDump(Ages::kRaw, raw), "aged.dump");
  EXPECT_TRUE(d.has_ages);
  EXPECT_TRUE(d.ages.empty());
}

TEST(DumpAges, DamagedSectionsAreRefusedWithOneLine) {
  struct Case {
    const char* what;
    std::vector<uint8_t> raw;
    const char* expected;
  };
  std::vector<Case> cases;
  {
    std::vector<uint8_t> raw;
    Put(raw, uint32_t{1});
    PutRecord(raw, 0, 0, 5, 1, 8);
    raw.resize(raw.size() - 3);  // the record is cut short
    cases.push_back({"truncated record", raw, "a record count larger than the section in the ages section"});
  }
  {
    std::vector<uint8_t> raw;
    Put(raw, uint32_t{2});  // says two, holds one
    PutRecord(raw, 0, 0, 5, 1, 8);
    cases.push_back({"count too large", raw, "a record count larger than the section"});
  }
  {
    std::vector<uint8_t> raw;
    Put(raw, uint32_t{1});
    PutRecord(raw, 0, 0, 5, 1, 8);
    raw.push_back(0);
    cases.push_back({"trailing bytes", raw, "trailing bytes in the ages section"});
  }
  {
    std::vector<uint8_t> raw;
    Put(raw, uint32_t{1});
    PutRecord(raw, 2, 0, 5, 1, 8);  // there are two sites: 0 and 1
    cases.push_back({"missing site", raw, "an age record refers to site 2, which is missing"});
  }
  {
    std::vector<uint8_t> raw;
    Put(raw, uint32_t{1});
    PutRecord(raw, 0, 0, 5, 0.0, 8);
    cases.push_back({"zero weight", raw, "an object weight that is not positive"});
  }
  {
    std::vector<uint8_t> raw;
    Put(raw, uint32_t{1});
    PutRecord(raw, 0, 0, 5, __builtin_nan(""), 8);
    cases.push_back({"nan weight", raw, "not a finite number"});
  }
  {
    std::vector<uint8_t> raw;
    Put(raw, uint32_t{1});
    PutRecord(raw, 0, 7, 5, 1, 8);
    cases.push_back({"reserved bits", raw, "reserved bits set in the ages section"});
  }
  {
    std::vector<uint8_t> raw = {1, 2, 3};
    cases.push_back({"garbage", raw, "in the ages section"});
  }
  for (const Case& c : cases) {
    const std::string error = ErrorOf(MakeDump(Ages::kRaw, c.raw));
    EXPECT_NE(error.find("aged.dump: corrupt dump: "), std::string::npos) << c.what << ": " << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.what << ": " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << c.what;
  }
}

TEST(DumpAges, ARepeatedSectionIsRefused) {
  const std::vector<uint8_t> bytes = DumpBuilder()
                                         .Ages()
                                         .Then([](DumpWriter& w, DumpBuffer&) {
                                           w.BeginSection(SectionType::kAges);
                                           w.EndSection();
                                         })
                                         .Bytes();
  ASSERT_FALSE(bytes.empty());
  const std::string error = ErrorOf(bytes);
  EXPECT_NE(error.find("a repeated section in the ages section"), std::string::npos) << error;
}

}  // namespace
}  // namespace leaktrace::format
