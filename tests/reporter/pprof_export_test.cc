// pprof export (reporter/pprof/export_pprof.h): dumps built in memory are
// exported, gunzipped and parsed back with the generated protobuf classes, and
// the profile is checked against the dumps' own figures.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "reporter/pprof/export_pprof.h"
#include "reporter/pprof/gzip.h"
#include "tests/reporter/fake_symbols.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::reporter::pprof {
namespace {

using perftools::profiles::Profile;
using test_support::DumpBuilder;
using testing::FakeSymbols;
using testing::Fn;

constexpr uint64_t kExe = 0x555500000000, kLib = 0x7f0000000000, kPreload = 0x7f1000000000;

FakeSymbols Symbols() {
  FakeSymbols s;
  s.Add("server", 0x100, {Fn("read_line", "io.h", 12, true), Fn("parse_header", "http.c", 120)});
  s.Add("server", 0x200, {Fn("main", "main.c", 7)});
  s.Add("server", 0x300, {Fn("accept_client", "net.c", 40)});
  s.Add("libleaktrace.so", 0x10, {Fn("malloc")});
  // libc.so.6+0x50 stays unnamed.
  return s;
}

// A sampled dump: two heap sites (one through leaktrace's own malloc and an
// unnamed libc frame), one without a stack, one fd site.
DumpBuilder Server(uint32_t pid = 100, uint64_t exe = kExe) {
  DumpBuilder b("server", pid);
  b.Exact(false)
      .Module("/usr/bin/server", exe, "\xab\xcd")
      .Module("/lib/libc.so.6", kLib, "\x01\x02")
      .Module("/opt/libleaktrace.so", kPreload, "\x0f")
      .Stack(1, {kPreload + 0x10, exe + 0x100, exe + 0x200})
      .Stack(2, {kLib + 0x50, exe + 0x200})
      .Stack(3, {exe + 0x300, exe + 0x200})
      .Site(format::Resource::kHeap, 1, 4800.4, 100)
      .Site(format::Resource::kHeap, 2, 1000, 10)
      .Site(format::Resource::kHeap, 99, 64, 1)  // stack id not in the dump (so InMemory, not Build)
      .Site(format::Resource::kFd, 3, 0, 3, 0, "socket inet/stream");
  return b;
}

format::Dump WithAllocs(format::Dump d) {
  for (format::Site& s : d.sites) {
    s.alloc_bytes = s.live_bytes * 3;
    s.alloc_count = s.live_count * 3;
  }
  return d;
}

Profile RoundTrip(const std::vector<const format::Dump*>& dumps, const std::vector<const format::Dump*>& base,
                  Resource r, const FakeSymbols& symbols) {
  // As `leaktrace export` does: each stack cleaned first (leaktrace's own
  // frames, allocator wrappers, start-up frames).
  std::vector<format::Dump> cleaned;
  for (const format::Dump* d : dumps) cleaned.push_back(*d);
  for (const format::Dump* d : base) cleaned.push_back(*d);
  for (format::Dump& d : cleaned) CleanDumpStacks(d, symbols.Source(), {});
  std::vector<const format::Dump*> cleaned_dumps, cleaned_base;
  for (size_t i = 0; i < cleaned.size(); ++i) (i < dumps.size() ? cleaned_dumps : cleaned_base).push_back(&cleaned[i]);
  const std::string gz = RenderPprof(cleaned_dumps, cleaned_base, r, symbols.Source());
  EXPECT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  Profile p;
  EXPECT_TRUE(p.ParseFromString(Gunzip(gz)));
  return p;
}

const std::string& Str(const Profile& p, int64_t i) { return p.string_table(static_cast<int>(i)); }

std::vector<std::string> SampleTypes(const Profile& p) {
  std::vector<std::string> out;
  for (const auto& t : p.sample_type()) out.push_back(Str(p, t.type()) + "/" + Str(p, t.unit()));
  return out;
}

// Sums of each sample type over all samples.
std::vector<int64_t> Sums(const Profile& p) {
  std::vector<int64_t> sums(p.sample_type_size(), 0);
  for (const auto& s : p.sample())
    for (int i = 0; i < s.value_size(); ++i) sums[i] += s.value(i);
  return sums;
}

// Function names of a sample's stack, innermost first, inline frames included.
std::vector<std::string> Names(const Profile& p, const perftools::profiles::Sample& s) {
  std::map<uint64_t, const perftools::profiles::Location*> locs;
  std::map<uint64_t, const perftools::profiles::Function*> fns;
  for (const auto& l : p.location()) locs[l.id()] = &l;
  for (const auto& f : p.function()) fns[f.id()] = &f;
  std::vector<std::string> names;
  for (uint64_t id : s.location_id())
    for (const auto& line : locs.at(id)->line()) names.push_back(Str(p, fns.at(line.function_id())->name()));
  return names;
}

// Every cross-reference of the profile resolves; ids are unique and non-zero.
void ExpectWellFormed(const Profile& p) {
  ASSERT_GT(p.string_table_size(), 0);
  EXPECT_EQ(p.string_table(0), "");
  auto in_table = [&](int64_t i) { return i >= 0 && i < p.string_table_size(); };
  std::set<uint64_t> mappings, locations, functions;
  for (const auto& m : p.mapping()) {
    EXPECT_NE(m.id(), 0u);
    EXPECT_TRUE(mappings.insert(m.id()).second);
    EXPECT_TRUE(in_table(m.filename()) && in_table(m.build_id()));
    EXPECT_LT(m.memory_start(), m.memory_limit());
  }
  for (const auto& f : p.function()) {
    EXPECT_NE(f.id(), 0u);
    EXPECT_TRUE(functions.insert(f.id()).second);
    EXPECT_TRUE(in_table(f.name()) && in_table(f.system_name()) && in_table(f.filename()));
    EXPECT_NE(Str(p, f.name()), "");
  }
  for (const auto& l : p.location()) {
    EXPECT_NE(l.id(), 0u);
    EXPECT_TRUE(locations.insert(l.id()).second);
    if (l.mapping_id() != 0) {
      EXPECT_TRUE(mappings.count(l.mapping_id())) << l.mapping_id();
    }
    EXPECT_GT(l.line_size(), 0);
    for (const auto& line : l.line()) EXPECT_TRUE(functions.count(line.function_id()));
  }
  for (const auto& s : p.sample()) {
    EXPECT_EQ(s.value_size(), p.sample_type_size());
    EXPECT_GT(s.location_id_size(), 0);
    for (uint64_t id : s.location_id()) EXPECT_TRUE(locations.count(id)) << id;
    for (const auto& l : s.label()) EXPECT_TRUE(in_table(l.key()) && in_table(l.str()));
  }
  for (int64_t c : p.comment()) EXPECT_TRUE(in_table(c));
  EXPECT_TRUE(in_table(p.default_sample_type()));
}

TEST(PprofExport, HeapSampleTypesValuesAndHeader) {
  const FakeSymbols symbols = Symbols();
  const format::Dump d = WithAllocs(Server().InMemory());
  const Profile p = RoundTrip({&d}, {}, Resource::kHeap, symbols);
  ExpectWellFormed(p);
  EXPECT_EQ(SampleTypes(p), (std::vector<std::string>{"alloc_objects/count", "alloc_space/bytes",
                                                      "inuse_objects/count", "inuse_space/bytes"}));
  EXPECT_EQ(Str(p, p.default_sample_type()), "inuse_space");
  EXPECT_EQ(Str(p, p.period_type().type()), "space");
  EXPECT_EQ(Str(p, p.period_type().unit()), "bytes");
  EXPECT_EQ(p.period(), 512 * 1024);  // DumpBuilder's sampled default (no Exact())
  EXPECT_EQ(p.time_nanos(), d.process.snapshot_realtime_ns);
  EXPECT_EQ(p.duration_nanos(), d.process.snapshot_realtime_ns - d.process.start_realtime_ns);

  // The dump's heap totals: 4800.4 + 1000 + 64 live bytes (each sample rounded),
  // 111 objects; alloc_* three times that.
  EXPECT_EQ(Sums(p), (std::vector<int64_t>{333, 17593, 111, 5864}));
  ASSERT_EQ(p.sample_size(), 3);

  std::map<std::vector<std::string>, int64_t> inuse;
  for (const auto& s : p.sample()) inuse[Names(p, s)] = s.value(3);
  // leaktrace's malloc frame is gone; the inline frame comes before its caller.
  EXPECT_EQ((inuse[{"read_line", "parse_header", "main"}]), 4800);
  EXPECT_EQ((inuse[{"libc.so.6+0x50", "main"}]), 1000);
  EXPECT_EQ(inuse[{"[no stack]"}], 64);

  bool comment_says_sampled = false;
  for (int64_t c : p.comment()) comment_says_sampled |= Str(p, c).find("sampled every 524288 bytes") != std::string::npos;
  EXPECT_TRUE(comment_says_sampled);
}

TEST(PprofExport, MappingsCarryBuildIdsAndTruthfulFlags) {
  const FakeSymbols symbols = Symbols();
  const format::Dump d = Server().InMemory();
  const Profile p = RoundTrip({&d}, {}, Resource::kHeap, symbols);
  ASSERT_EQ(p.mapping_size(), 3);
  std::map<std::string, const perftools::profiles::Mapping*> by_file;
  for (const auto& m : p.mapping()) by_file[Str(p, m.filename())] = &m;
  // The executable is mapping 1, as pprof readers expect.
  EXPECT_EQ(Str(p, p.mapping(0).filename()), "/usr/bin/server");
  const auto& exe = *by_file.at("/usr/bin/server");
  EXPECT_EQ(Str(p, exe.build_id()), "abcd");
  EXPECT_EQ(exe.memory_start(), kExe);
  EXPECT_EQ(exe.memory_limit(), kExe + 0x100000);
  EXPECT_TRUE(exe.has_functions() && exe.has_filenames() && exe.has_line_numbers() && exe.has_inline_frames());
  const auto& libc = *by_file.at("/lib/libc.so.6");
  EXPECT_EQ(Str(p, libc.build_id()), "0102");
  EXPECT_FALSE(libc.has_functions() || libc.has_filenames() || libc.has_line_numbers());

  // One location per distinct return address, at the address recorded.
  std::set<uint64_t> addresses;
  for (const auto& l : p.location())
    if (l.mapping_id() == exe.id()) addresses.insert(l.address());
  EXPECT_EQ(addresses, (std::set<uint64_t>{kExe + 0x100, kExe + 0x200}));
  for (const auto& l : p.location())
    EXPECT_NE(l.address(), kPreload + 0x10) << "a location of leaktrace's own frame";
}

TEST(PprofExport, SeveralProcessesShareMappingsAndLocations) {
  const FakeSymbols symbols = Symbols();
  // A second process of the same build, loaded elsewhere (ASLR).
  const format::Dump a = Server(100).InMemory();
  const format::Dump b = Server(200, kExe + 0x40000000).InMemory();
  const Profile p = RoundTrip({&a, &b}, {}, Resource::kHeap, symbols);
  ExpectWellFormed(p);
  EXPECT_EQ(p.mapping_size(), 3);
  EXPECT_EQ(p.sample_size(), 3);  // equal stacks merged
  // Equal stacks are added before rounding: 2 x 4800.4 is 9601.
  EXPECT_EQ(Sums(p)[3], 9601 + 2 * 1000 + 2 * 64);
  // The second process's addresses are moved into the first one's mapping.
  for (const auto& l : p.location()) {
    if (l.mapping_id() == 1) {
      EXPECT_LT(l.address(), kExe + 0x100000);
    }
  }
}

TEST(PprofExport, BaseIsSubtractedAsGoToolPprofWould) {
  const FakeSymbols symbols = Symbols();
  DumpBuilder before_b = Server();
  const format::Dump before = before_b.InMemory();
  DumpBuilder after_b("server", 100, 2);
  after_b.Module("/usr/bin/server", kExe, "\xab\xcd")
      .Module("/lib/libc.so.6", kLib, "\x01\x02")
      .Stack(1, {kExe + 0x100, kExe + 0x200})
      .Stack(2, {kLib + 0x50, kExe + 0x200})
      .Site(format::Resource::kHeap, 1, 9600, 200)
      .Site(format::Resource::kHeap, 2, 1000, 10)
      .Site(format::Resource::kHeap, 99, 32, 1);
  const format::Dump after = after_b.InMemory();
  const Profile p = RoundTrip({&after}, {&before}, Resource::kHeap, symbols);
  ExpectWellFormed(p);
  std::map<std::vector<std::string>, int64_t> inuse;
  for (const auto& s : p.sample()) inuse[Names(p, s)] = s.value(3);
  EXPECT_EQ((inuse[{"read_line", "parse_header", "main"}]), 9600 - 4800);
  EXPECT_EQ(inuse[{"[no stack]"}], -32);
  // The libc site did not change: no sample.
  EXPECT_EQ((inuse.count({"libc.so.6+0x50", "main"})), 0u);
  EXPECT_EQ(p.duration_nanos(), after.process.snapshot_realtime_ns - before.process.snapshot_realtime_ns);
}

TEST(PprofExport, DescriptorsAndMappingsHaveTheirOwnTypesAndLabels) {
  const FakeSymbols symbols = Symbols();
  const format::Dump d = Server().InMemory();
  const Profile fd = RoundTrip({&d}, {}, Resource::kFd, symbols);
  ExpectWellFormed(fd);
  EXPECT_EQ(SampleTypes(fd), std::vector<std::string>{"inuse_fds/count"});
  EXPECT_EQ(Str(fd, fd.period_type().type()), "fds");
  EXPECT_EQ(fd.period(), 1);
  ASSERT_EQ(fd.sample_size(), 1);
  EXPECT_EQ(fd.sample(0).value(0), 3);
  EXPECT_EQ(Names(fd, fd.sample(0)), (std::vector<std::string>{"accept_client", "main"}));
  ASSERT_EQ(fd.sample(0).label_size(), 1);
  EXPECT_EQ(Str(fd, fd.sample(0).label(0).key()), "fd");
  EXPECT_EQ(Str(fd, fd.sample(0).label(0).str()), "socket inet/stream");

  const Profile mmap = RoundTrip({&d}, {}, Resource::kMmap, symbols);
  ExpectWellFormed(mmap);
  EXPECT_EQ(SampleTypes(mmap), (std::vector<std::string>{"inuse_mappings/count", "inuse_mapped_space/bytes"}));
  EXPECT_EQ(Str(mmap, mmap.default_sample_type()), "inuse_mapped_space");
  EXPECT_EQ(mmap.sample_size(), 0);
}

TEST(PprofExport, ExactDumpsHavePeriodOne) {
  const FakeSymbols symbols = Symbols();
  const format::Dump d = Server().Exact().InMemory();
  const Profile p = RoundTrip({&d}, {}, Resource::kHeap, symbols);
  EXPECT_EQ(p.period(), 1);
}

TEST(Gzip, RoundTripsAndRejectsTruncatedData) {
  std::string big;
  for (int i = 0; i < 200000; ++i) big += static_cast<char>(i * 7919 % 251);
  const std::string gz = Gzip(big);
  EXPECT_EQ(Gunzip(gz), big);
  EXPECT_EQ(Gunzip(Gzip("")), "");
  EXPECT_THROW(Gunzip(gz.substr(0, gz.size() / 2)), std::runtime_error);
  EXPECT_THROW(Gunzip("not gzip"), std::runtime_error);
}

}  // namespace
}  // namespace leaktrace::reporter::pprof
