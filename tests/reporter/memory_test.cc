// Where the RSS went: the parts of a dump's memory figures add up to RSS by
// construction; growth is after minus before; the reading names the part
// that carries the growth; --max-rss and --max-unexplained gate on it.
#include <gtest/gtest.h>

#include "reporter/check.h"
#include "reporter/memory.h"
#include "reporter/memory_chart.h"
#include "reporter/render.h"
#include "tests/support/dump_builder.h"

namespace leaktrace::reporter {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// A dump of "svc" (pid 0) with one heap site of `heap` bytes and the memory
// figures given.
format::Dump MakeDump(double heap, std::vector<std::pair<std::string, uint64_t>> figures, double var = 0) {
  test_support::DumpBuilder b("svc", 0);
  b.Exact(var == 0).Stack(1, {0x1000}).Site(format::Resource::kHeap, 1, heap, 0, var).Memory();
  if (var > 0) b.SampleInterval(65536);
  for (auto& [name, value] : figures) b.Memory(std::move(name), value);
  return b.Build();
}

format::Dump Glibc(uint64_t rss, double heap, uint64_t allocator_resident) {
  return MakeDump(heap, {{"rss", rss},
                         {"allocator", 1},
                         {"allocator_resident", allocator_resident},
                         {"allocator_in_use", static_cast<uint64_t>(heap)},
                         {"mmap_resident", 2 * kMiB},
                         {"thread_stacks", 64 * 1024},
                         {"threads", 3},
                         {"leaktrace_mapped", 1 * kMiB},
                         {"leaktrace_in_heap", 4096},
                         {"heap_peak", 500 * kMiB}});
}

TEST(Memory, PartsAddUpToRss) {
  const MemoryParts m = MemoryOf(Glibc(400 * kMiB, 100 * kMiB, 300 * kMiB));
  ASSERT_TRUE(m.known);
  EXPECT_EQ(m.allocator, "glibc");
  EXPECT_EQ(m.heap, 100 * kMiB);
  EXPECT_EQ(m.allocator_free, 300.0 * kMiB - 100 * kMiB - 4096);  // leaktrace's headers are not the allocator's
  EXPECT_EQ(m.leaktrace, 1.0 * kMiB + 4096);
  EXPECT_EQ(m.mmap, 2.0 * kMiB);
  EXPECT_EQ(m.heap + m.allocator_free + m.mmap + m.thread_stacks + m.leaktrace + m.unexplained, m.rss);
  EXPECT_EQ(m.unexplained, 400.0 * kMiB - 300 * kMiB - 2 * kMiB - 64 * 1024 - 1 * kMiB);
  EXPECT_EQ(m.heap_peak, 500.0 * kMiB);
}

// glibc counts every page of its arena it has not given back, touched or
// not: GNU file mallocs a big buffer, uses its start and frees it, and its
// report read "allocator free 9.9 MiB, unexplained -4.1 MiB" against 4.4 MiB
// of anonymous RSS. The allocator's free memory is resident at most what
// anonymous memory the other parts leave; what it holds beyond is said.
TEST(Memory, AllocatorFreeIsNeverMoreThanTheAnonymousRssLeft) {
  const format::Dump d = MakeDump(1 * kMiB, {{"rss", 7 * kMiB},
                                             {"rss_anon", 4 * kMiB},
                                             {"rss_file", 3 * kMiB},
                                             {"allocator", 1},
                                             {"allocator_resident", 11 * kMiB},
                                             {"allocator_in_use", 1 * kMiB},
                                             {"mmap_resident", 0},
                                             {"thread_stacks", 128 * 1024},
                                             {"leaktrace_mapped", 512 * 1024}});
  const MemoryParts m = MemoryOf(d);
  EXPECT_EQ(m.allocator_held, 10.0 * kMiB);
  EXPECT_EQ(m.allocator_free, 4.0 * kMiB - 1 * kMiB - 128 * 1024 - 512 * 1024);
  EXPECT_EQ(m.unexplained, 3.0 * kMiB);  // the file-backed pages: code and data
  EXPECT_EQ(m.heap + m.allocator_free + m.mmap + m.thread_stacks + m.leaktrace + m.unexplained, m.rss);
  Report r;
  r.dumps.push_back(DescribeDump(d));
  const std::string text = MemoryText(ReportMemory(r), /*growth=*/false, /*exact=*/true);
  EXPECT_NE(text.find("allocator free  2.4 MiB   (it holds 10.0 MiB, the rest not resident)"), std::string::npos)
      << text;
  EXPECT_EQ(MemoryJson(ReportMemory(r), true)["allocator_held"], 10 * kMiB);
  // Room enough: the allocator's own count stands.
  const MemoryParts roomy = MemoryOf(Glibc(400 * kMiB, 100 * kMiB, 300 * kMiB));
  EXPECT_EQ(roomy.allocator_free, roomy.allocator_held);
}

// jemalloc preloaded after leaktrace: a C++ program's `new char[1000]`
// blocks are jemalloc's own (its operator new), which leaktrace does not
// see, and 40 MB of them live read as 40 MiB of allocator free, as if
// fragmentation. The allocator's own count of what it handed out says
// otherwise: beside allocator free, how much of it that is.
TEST(Memory, WhatTheAllocatorCountsAsHandedOutIsSaidBesideItsFree) {
  const format::Dump d = MakeDump(20 * kMiB, {{"rss", 70 * kMiB},
                                              {"rss_anon", 66 * kMiB},
                                              {"rss_file", 4 * kMiB},
                                              {"allocator", 2},
                                              {"allocator_resident", 64 * kMiB},
                                              {"allocator_in_use", 61 * kMiB},
                                              {"mmap_resident", 0},
                                              {"thread_stacks", 128 * 1024},
                                              {"leaktrace_mapped", 512 * 1024}});
  const MemoryParts m = MemoryOf(d);
  EXPECT_EQ(m.allocator_untracked_in_use, 41.0 * kMiB);
  EXPECT_EQ(m.allocator_free, 44.0 * kMiB) << "the contract's part is unchanged";
  Report r;
  r.dumps.push_back(DescribeDump(d));
  const std::string text = MemoryText(ReportMemory(r), /*growth=*/false, /*exact=*/true);
  EXPECT_NE(text.find("of it 41.0 MiB the allocator counts as handed out"), std::string::npos) << text;
  // The allocator's count close to the live heap: nothing said.
  const format::Dump tight = MakeDump(20 * kMiB, {{"rss", 30 * kMiB},
                                                  {"rss_anon", 26 * kMiB},
                                                  {"allocator", 2},
                                                  {"allocator_resident", 25 * kMiB},
                                                  {"allocator_in_use", 20 * kMiB + 512 * 1024}});
  Report t;
  t.dumps.push_back(DescribeDump(tight));
  EXPECT_EQ(MemoryText(ReportMemory(t), false, true).find("counts as handed out"), std::string::npos);
}

TEST(Memory, UnknownWithoutTheSection) {
  format::Dump d = MakeDump(10, {});
  d.has_memory = false;
  EXPECT_FALSE(MemoryOf(d).known);
  Report r;
  r.dumps.push_back(DescribeDump(d));
  EXPECT_TRUE(MemoryJson(ReportMemory(r), true).is_null());
}

TEST(Memory, UnknownAllocatorLeavesItsFreeMemoryUnexplained) {
  const MemoryParts m = MemoryOf(MakeDump(10 * kMiB, {{"rss", 50 * kMiB}}));
  EXPECT_TRUE(m.allocator.empty());
  EXPECT_EQ(m.allocator_free, 0);
  EXPECT_EQ(m.unexplained, 40.0 * kMiB);
}

Report DiffOf(const format::Dump& before, const format::Dump& after) {
  Report r;
  r.kind = ReportKind::kGrowth;
  r.baseline.push_back(DescribeDump(before));
  r.dumps.push_back(DescribeDump(after));
  return r;
}

// A process that could not read its own pagemap (forked after its parent
// dropped privileges) writes no mmap_resident and no thread figures: those
// parts read 0, their bytes are unexplained, and text and JSON say they were
// not measured rather than show a 0 as if measured.
TEST(Memory, PartsTheProcessCouldNotMeasureSaySo) {
  const format::Dump unmeasured = MakeDump(10 * kMiB, {{"rss", 50 * kMiB}, {"leaktrace_mapped", kMiB}});
  const MemoryParts m = MemoryOf(unmeasured);
  EXPECT_FALSE(m.mmap_measured);
  EXPECT_FALSE(m.stacks_measured);
  EXPECT_EQ(m.mmap, 0);
  EXPECT_EQ(m.unexplained, 39.0 * kMiB);
  const std::string text = MemoryText(m, false, true);
  EXPECT_NE(text.find("mappings        not measured"), std::string::npos) << text;
  EXPECT_NE(text.find("thread stacks   not measured"), std::string::npos) << text;
  const nlohmann::ordered_json j = MemoryJson(m, true);
  EXPECT_EQ(j["mmap"], 0);
  EXPECT_EQ(j["not_measured"], nlohmann::ordered_json({"mmap", "thread_stacks"}));

  // A dump that measured them says nothing of the kind.
  const MemoryParts measured = MemoryOf(Glibc(400 * kMiB, 100 * kMiB, 300 * kMiB));
  EXPECT_TRUE(measured.mmap_measured && measured.stacks_measured);
  EXPECT_FALSE(MemoryJson(measured, true).contains("not_measured"));
  EXPECT_EQ(MemoryText(measured, false, true).find("not measured"), std::string::npos);

  // Growth, and sums: not measured when either side was not.
  const Report diff = DiffOf(Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB),
                             MakeDump(20 * kMiB, {{"rss", 200 * kMiB}, {"leaktrace_mapped", kMiB}}));
  const MemoryParts g = ReportMemory(diff);
  EXPECT_FALSE(g.mmap_measured);
  const std::string reading = MemoryText(g, true, true);
  EXPECT_NE(reading.find("with the mappings and thread stacks this process could not measure"), std::string::npos)
      << reading;
  EXPECT_FALSE(SumMemory({measured, m}).mmap_measured);
}

TEST(Memory, FragmentationReading) {
  const Report diff = DiffOf(Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB), Glibc(500 * kMiB, 60 * kMiB, 460 * kMiB));
  const MemoryParts g = ReportMemory(diff);
  EXPECT_EQ(g.rss, 400.0 * kMiB);
  EXPECT_EQ(g.heap, 40.0 * kMiB);
  EXPECT_EQ(g.allocator_free, 360.0 * kMiB);
  EXPECT_EQ(g.unexplained, 0);
  EXPECT_EQ(MemoryReading(g),
            "RSS +400.0 MiB: live heap +40.0 MiB, held free by the allocator +360.0 MiB (fragmentation, not a "
            "leak: see MALLOC_ARENA_MAX / malloc_trim)");
  const nlohmann::ordered_json j = MemoryJson(g, true);
  EXPECT_EQ(j["rss"], 400 * kMiB);
  EXPECT_EQ(j["allocator_free"], 360 * kMiB);
  EXPECT_FALSE(j.contains("heap_stderr"));
}

TEST(Memory, UnexplainedReading) {
  const Report diff = DiffOf(Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB), Glibc(400 * kMiB, 30 * kMiB, 70 * kMiB));
  const MemoryParts g = ReportMemory(diff);
  EXPECT_EQ(g.unexplained, 290.0 * kMiB);
  EXPECT_EQ(MemoryReading(g).rfind("RSS +300.0 MiB of which +290.0 MiB unexplained: memory leaktrace does not see", 0),
            0u)
      << MemoryReading(g);
}

TEST(Memory, NoReadingForSmallOrMixedGrowth) {
  // Under 1 MiB of RSS growth.
  EXPECT_EQ(MemoryReading(ReportMemory(DiffOf(Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB),
                                              Glibc(100 * kMiB + 4096, 20 * kMiB, 60 * kMiB)))),
            "");
  // No part carries half.
  const MemoryParts g = ReportMemory(DiffOf(Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB),
                                            Glibc(400 * kMiB, 120 * kMiB, 260 * kMiB)));
  EXPECT_EQ(g.heap, 100.0 * kMiB);
  EXPECT_EQ(g.allocator_free, 100.0 * kMiB);
  EXPECT_EQ(g.unexplained, 100.0 * kMiB);
  EXPECT_EQ(MemoryReading(g), "");
}

TEST(Memory, JsonIntegersAddUpAfterRounding) {
  // A sampled heap estimate with a fraction: the integers still add up.
  const format::Dump d = MakeDump(1000.4, {{"rss", 10 * kMiB}, {"leaktrace_mapped", 333}}, 250000);
  const nlohmann::ordered_json j = MemoryJson(MemoryOf(d), false);
  const int64_t sum = j["heap"].get<int64_t>() + j["allocator_free"].get<int64_t>() + j["mmap"].get<int64_t>() +
                      j["thread_stacks"].get<int64_t>() + j["leaktrace"].get<int64_t>() +
                      j["unexplained"].get<int64_t>();
  EXPECT_EQ(sum, j["rss"].get<int64_t>());
  EXPECT_DOUBLE_EQ(j["heap_stderr"].get<double>(), 500);
}

TEST(Memory, CheckGatesOnRssAndUnexplained) {
  const Report diff = DiffOf(Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB), Glibc(400 * kMiB, 30 * kMiB, 70 * kMiB));
  Thresholds rss;
  rss.max_rss = 100.0 * kMiB;
  CheckResult r = Check(diff, rss, Suppressions{});
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_EQ(r.rules[0].name, "max-rss");
  EXPECT_EQ(r.rules[0].value, 300.0 * kMiB);
  rss.max_rss = 300.0 * kMiB;
  EXPECT_TRUE(Check(diff, rss, Suppressions{}).passed);

  Thresholds unexplained;
  unexplained.max_unexplained = 200.0 * kMiB;
  r = Check(diff, unexplained, Suppressions{});
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.violations.at(0).find("unexplained RSS grew by +290.0 MiB"), std::string::npos) << r.violations[0];
  unexplained.max_unexplained = 290.0 * kMiB;
  EXPECT_TRUE(Check(diff, unexplained, Suppressions{}).passed);
}

TEST(Memory, CheckWithoutFiguresFails) {
  format::Dump old = MakeDump(10, {});
  old.has_memory = false;
  Thresholds t;
  t.max_rss = 1.0 * kMiB;
  const CheckResult r = Check(DiffOf(old, old), t, Suppressions{});
  EXPECT_FALSE(r.passed);
}

TEST(Memory, TextTableAndReading) {
  const Report diff = DiffOf(Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB), Glibc(500 * kMiB, 60 * kMiB, 460 * kMiB));
  const std::string text = MemoryText(ReportMemory(diff), true, true);
  EXPECT_NE(text.find("memory: RSS +400.0 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("allocator free  +360.0 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("held free by the allocator"), std::string::npos) << text;
}

// Sampled: allocator free is what the allocator holds minus the heap
// estimate, so it carries the estimate's error and says so.
TEST(Memory, SampledAllocatorFreeCarriesTheHeapEstimatesError) {
  MemoryParts m = MemoryOf(Glibc(400 * kMiB, 100 * kMiB, 300 * kMiB));
  m.heap_var = 2.0 * kMiB * 2.0 * kMiB;
  const std::string sampled = MemoryText(m, false, false);
  EXPECT_NE(sampled.find("live heap       100.0 MiB ± 2.0 MiB"), std::string::npos) << sampled;
  EXPECT_NE(sampled.find("allocator free  200.0 MiB ± 2.0 MiB"), std::string::npos) << sampled;
  const std::string exact = MemoryText(m, false, true);
  EXPECT_EQ(exact.find("±"), std::string::npos) << exact;
}

}  // namespace
}  // namespace leaktrace::reporter

namespace leaktrace::reporter {
namespace {

// A chart is one process over time: dumps of two processes, or one snapshot
// given twice, are refused (the command exits 2), never drawn as one series.
TEST(MemoryChart, RefusesDumpsOfTwoProcessesAndTheSameSnapshotTwice) {
  auto info = [](uint32_t pid, int64_t t, const char* path) {
    format::Dump d = Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB);
    d.path = path;
    d.process.pid = pid;
    d.process.snapshot_monotonic_ns = t;
    return DescribeDump(d);
  };
  try {
    RenderMemoryChartHtml({info(7, 1, "a.dump"), info(8, 2, "b.dump")});
    ADD_FAILURE() << "dumps of two processes were charted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "b.dump is from another process (pid 8) than a.dump (pid 7); a memory chart "
                                     "needs snapshots of one process");
  }
  try {
    RenderMemoryChartHtml({info(7, 1, "a.dump"), info(7, 2, "b.dump"), info(7, 1, "c.dump")});
    ADD_FAILURE() << "one snapshot was charted twice";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "a.dump and c.dump are the same snapshot; give each snapshot once");
  }
  EXPECT_NO_THROW(RenderMemoryChartHtml({info(7, 1, "a.dump"), info(7, 2, "b.dump")}));
}

TEST(MemoryChart, DrawsEverySeriesAcrossTheDumps) {
  std::vector<DumpInfo> dumps;
  for (int i = 0; i < 3; ++i) {
    format::Dump d = Glibc((100 + 100 * i) * kMiB, (20 + 10 * i) * kMiB, (60 + 90 * i) * kMiB);
    d.process.seq = static_cast<uint32_t>(i + 1);
    d.process.program = "svc<1>";
    d.process.snapshot_realtime_ns = (1000 + 10 * i) * 1000000000LL;
    d.process.snapshot_monotonic_ns = (10 * i) * 1000000000LL;
    dumps.push_back(DescribeDump(d));
  }
  std::swap(dumps[0], dumps[2]);  // any order: drawn by time
  const std::string html = RenderMemoryChartHtml(dumps);
  EXPECT_NE(html.find("Memory of svc&lt;1&gt; (pid 0) across 3 snapshots"), std::string::npos);
  size_t polylines = 0;
  for (size_t at = html.find("<polyline"); at != std::string::npos; at = html.find("<polyline", at + 1)) ++polylines;
  EXPECT_EQ(polylines, 5u);  // RSS, heap, allocator free, stacks, unexplained
  EXPECT_NE(html.find("RSS at 20.0 s (snapshot #3): 300.0 MiB"), std::string::npos);
  EXPECT_NE(html.find("held free by the allocator +160.0 MiB"), std::string::npos);

  dumps.resize(1);
  EXPECT_THROW(RenderMemoryChartHtml(dumps), std::invalid_argument);
}

}  // namespace
}  // namespace leaktrace::reporter

namespace leaktrace::reporter {
namespace {

// A dump written while the allocator was not asked (allocator_skipped, or
// from the signal handler): its growth against one that was asked puts
// both without the allocator's figures, so the parts still add up.
TEST(Memory, GrowthAgainstADumpWithoutAllocatorFigures) {
  const format::Dump before = Glibc(100 * kMiB, 20 * kMiB, 60 * kMiB);
  const format::Dump after = MakeDump(30 * kMiB, {{"rss", 400 * kMiB}, {"allocator_skipped", 1}});
  const MemoryParts g = ReportMemory(DiffOf(before, after));
  EXPECT_TRUE(g.allocator.empty());
  EXPECT_EQ(g.allocator_free, 0);
  EXPECT_EQ(g.heap + g.allocator_free + g.mmap + g.thread_stacks + g.leaktrace + g.unexplained, g.rss);
}

}  // namespace
}  // namespace leaktrace::reporter

namespace leaktrace::reporter {
namespace {

// A dump written in the snapshot signal's handler (a fork child with no
// dumper thread: postgres's backends) could not ask its allocator. Its
// free memory lands in `unexplained`; text and JSON say why rather than
// read "allocator not known, allocator free 0 B".
TEST(Memory, ADumpWrittenInTheSignalHandlerSaysTheAllocatorWasNotAsked) {
  const format::Dump in_handler =
      MakeDump(10 * kMiB, {{"rss", 50 * kMiB}, {"mmap_resident", 0}, {"thread_stacks", 0}, {"written_in_handler", 1}});
  const MemoryParts m = MemoryOf(in_handler);
  EXPECT_EQ(m.allocator_not_asked, kNotAskedInHandler);
  EXPECT_EQ(m.allocator_free, 0);
  EXPECT_EQ(m.unexplained, 40.0 * kMiB);
  const std::string text = MemoryText(m, false, true);
  EXPECT_NE(text.find("allocator not asked"), std::string::npos) << text;
  EXPECT_NE(text.find("allocator free  not measured (in unexplained: the snapshot was written in the signal handler"),
            std::string::npos)
      << text;
  EXPECT_EQ(MemoryJson(m, true)["not_measured"], nlohmann::ordered_json({"allocator_free"}));

  // Against a dump whose allocator answered: both go without, and say why.
  const MemoryParts g = ReportMemory(DiffOf(Glibc(40 * kMiB, 10 * kMiB, 30 * kMiB), in_handler));
  EXPECT_EQ(g.allocator_not_asked, kNotAskedInHandler);
  EXPECT_NE(MemoryText(g, true, true).find("allocator's free memory this process could not measure"), std::string::npos)
      << MemoryText(g, true, true);
  EXPECT_EQ(SumMemory({MemoryOf(Glibc(40 * kMiB, 10 * kMiB, 30 * kMiB)), m}).allocator_not_asked, kNotAskedInHandler);

  // Another allocator, asked or not, is "not known", and nothing is said missing.
  const MemoryParts other = MemoryOf(MakeDump(10 * kMiB, {{"rss", 50 * kMiB}, {"mmap_resident", 0}, {"thread_stacks", 0}}));
  EXPECT_TRUE(other.allocator_not_asked.empty());
  EXPECT_NE(MemoryText(other, false, true).find("allocator not known"), std::string::npos);
  EXPECT_FALSE(MemoryJson(other, true).contains("not_measured"));
}

}  // namespace
}  // namespace leaktrace::reporter
