// DumpBuilder itself: every field it is given reaches the bytes, so the dump
// the reader gives back (Build) is the one described (InMemory); sections it
// is not asked for stay out; what the reader refuses is refused.
#include "tests/support/dump_builder.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "format/dump_reader.h"

namespace leaktrace::test_support {
namespace {

using format::Resource;

DumpBuilder EverySection() {
  format::Module plugin;
  plugin.path = "/opt/plugin.so";
  plugin.load_bias = 0x7f0000000000;
  plugin.flags = format::kModuleUnloaded;
  plugin.segments = {{0x7f0000000000, 0x7f0000001000, 0, 4}, {0x7f0000001000, 0x7f0000003000, 0x1000, 5}};
  format::Site heap;
  heap.stack_id = 3;
  heap.live_count = 2.5;
  heap.live_bytes = 640.25;
  heap.alloc_count = 7;
  heap.alloc_bytes = 1792;
  heap.var_live_count = 1.5;
  heap.var_live_bytes = 98304.5;
  heap.live_samples = 2;
  DumpBuilder b("svc", 4242, 7);
  b.Trigger(format::Trigger::kExit)
      .Attached()
      .Ppid(17)
      .Argv({"svc", "--port", "80"})
      .SnapshotTime(1700000000123456789, 987654321)
      .StartTime(1700000000000000001, 12345)
      .MainProgram("/usr/sbin/svc", 0x555500000000, "\xde\xad")
      .Module(std::move(plugin))
      .Stack(3, {0x555500001000, 0x7f0000001234}, format::kStackTruncated)
      .Stack(1, {0x555500002000})
      .Site(std::move(heap))
      .SiteAt(Resource::kFd, 0x2000, 0, 3, 0, "socket inet/stream")
      .Site(Resource::kThread, 1, 3 * 8388608.0, 3, 0, "exited, not joined")
      .Health("dropped_stacks", 4)
      .Age(0, 5000, 1.25, 256)
      .Age(1, 6000)
      .Memory("rss", 300 << 20);
  return b;
}

TEST(DumpBuilder, EveryFieldSurvivesTheWriterAndTheReader) {
  const DumpBuilder b = EverySection();
  const format::Dump given = b.InMemory();
  const format::Dump read = b.Build();
  EXPECT_EQ(read.path, "svc.4242.7.dump");
  EXPECT_EQ(read.version, format::kVersion);

  const format::ProcessInfo &p = read.process, &q = given.process;
  EXPECT_EQ(p.pid, 4242u);
  EXPECT_EQ(p.ppid, 17u);
  EXPECT_EQ(p.seq, 7u);
  EXPECT_EQ(p.flags, q.flags);
  EXPECT_TRUE(p.attached());
  EXPECT_FALSE(p.exact());
  EXPECT_EQ(p.trigger, format::Trigger::kExit);
  EXPECT_EQ(p.sample_interval, 512u * 1024);
  EXPECT_EQ(p.snapshot_realtime_ns, 1700000000123456789);
  EXPECT_EQ(p.snapshot_monotonic_ns, 987654321);
  EXPECT_EQ(p.start_realtime_ns, 1700000000000000001);
  EXPECT_EQ(p.start_monotonic_ns, 12345);
  EXPECT_EQ(p.program, "svc");
  EXPECT_EQ(p.exe_path, "/usr/sbin/svc");
  EXPECT_EQ(p.argv, q.argv);

  ASSERT_EQ(read.modules.size(), 2u);
  for (size_t i = 0; i < read.modules.size(); ++i) {
    EXPECT_EQ(read.modules[i].path, given.modules[i].path);
    EXPECT_EQ(read.modules[i].build_id, given.modules[i].build_id);
    EXPECT_EQ(read.modules[i].load_bias, given.modules[i].load_bias);
    EXPECT_EQ(read.modules[i].flags, given.modules[i].flags);
    ASSERT_EQ(read.modules[i].segments.size(), given.modules[i].segments.size());
    for (size_t s = 0; s < read.modules[i].segments.size(); ++s) {
      EXPECT_EQ(read.modules[i].segments[s].start, given.modules[i].segments[s].start);
      EXPECT_EQ(read.modules[i].segments[s].end, given.modules[i].segments[s].end);
      EXPECT_EQ(read.modules[i].segments[s].file_offset, given.modules[i].segments[s].file_offset);
      EXPECT_EQ(read.modules[i].segments[s].prot, given.modules[i].segments[s].prot);
    }
  }
  EXPECT_EQ(read.modules[0].flags, format::kModuleMainProgram);
  EXPECT_EQ(read.modules[0].BuildIdHex(), "dead");

  // Stacks come back sorted by id; SiteAt took the id after the largest.
  ASSERT_EQ(read.stacks.size(), 3u);
  for (size_t i = 0; i < read.stacks.size(); ++i) {
    EXPECT_EQ(read.stacks[i].id, given.stacks[i].id);
    EXPECT_EQ(read.stacks[i].flags, given.stacks[i].flags);
    EXPECT_EQ(read.stacks[i].pcs, given.stacks[i].pcs);
  }
  EXPECT_EQ(read.stacks[2].id, 4u);
  EXPECT_EQ(read.stacks[2].pcs, (std::vector<uint64_t>{0x555500002000}));
  EXPECT_TRUE(read.stacks[1].truncated());

  ASSERT_EQ(read.sites.size(), 3u);
  for (size_t i = 0; i < read.sites.size(); ++i) {
    const format::Site &r = read.sites[i], &g = given.sites[i];
    EXPECT_EQ(r.resource, g.resource);
    EXPECT_EQ(r.stack_id, g.stack_id);
    EXPECT_EQ(r.live_count, g.live_count);
    EXPECT_EQ(r.live_bytes, g.live_bytes);
    EXPECT_EQ(r.alloc_count, g.alloc_count);
    EXPECT_EQ(r.alloc_bytes, g.alloc_bytes);
    EXPECT_EQ(r.var_live_count, g.var_live_count);
    EXPECT_EQ(r.var_live_bytes, g.var_live_bytes);
    EXPECT_EQ(r.live_samples, g.live_samples);
    EXPECT_EQ(r.label, g.label);
  }
  EXPECT_EQ(read.sites[0].var_live_bytes, 98304.5);
  EXPECT_EQ(read.sites[1].alloc_count, 3);  // SiteAt: all it allocated is live
  EXPECT_EQ(read.sites[2].label, "exited, not joined");

  EXPECT_EQ(read.health, given.health);
  ASSERT_TRUE(read.has_ages);
  ASSERT_EQ(read.ages.size(), 2u);
  EXPECT_EQ(read.ages[0].weight, 1.25);
  EXPECT_EQ(read.ages[0].size, 256u);
  EXPECT_EQ(read.ages[1].birth_monotonic_ns, 6000);
  EXPECT_EQ(read.ages[1].weight, 1);
  ASSERT_TRUE(read.has_memory);
  EXPECT_EQ(read.memory, given.memory);
}

TEST(DumpBuilder, SectionsNotAskedForStayOut) {
  const format::Dump d = DumpBuilder().Exact().Build();
  EXPECT_TRUE(d.process.exact());
  EXPECT_EQ(d.process.sample_interval, 1u);
  EXPECT_TRUE(d.modules.empty());
  EXPECT_TRUE(d.sites.empty());
  EXPECT_TRUE(d.health.empty());
  EXPECT_FALSE(d.has_ages);
  EXPECT_FALSE(d.has_memory);
  // Asked for while empty: present and empty.
  const format::Dump e = DumpBuilder().Ages().Memory().Build();
  EXPECT_TRUE(e.has_ages);
  EXPECT_TRUE(e.has_memory);
}

TEST(DumpBuilder, WhatTheReaderRefusesBuildRefusesAndInMemoryKeeps) {
  const DumpBuilder b = DumpBuilder().Site(Resource::kHeap, 42, 8, 1);
  EXPECT_THROW(b.Build(), format::DumpError);
  const format::Dump d = b.InMemory();
  ASSERT_EQ(d.sites.size(), 1u);
  EXPECT_EQ(d.sites[0].stack_id, 42u);
  EXPECT_EQ(d.FindStack(42), nullptr);
}

TEST(DumpBuilder, WriteFileWritesTheBytes) {
  const DumpBuilder b = EverySection();
  const std::string path = ::testing::TempDir() + "dump_builder_test.dump";
  ASSERT_TRUE(b.WriteFile(path));
  const format::Dump d = format::ReadDump(path);
  EXPECT_EQ(d.sites.size(), 3u);
  EXPECT_EQ(d.process.pid, 4242u);
  EXPECT_FALSE(DumpBuilder().WriteFile("/nonexistent-dir/x.dump"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace leaktrace::test_support
