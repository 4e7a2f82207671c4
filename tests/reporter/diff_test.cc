// Growth between two reports (diff.h): sites matched across load biases,
// signs, sorting, vanished sites, variances that add.
#include <gtest/gtest.h>

#include <cmath>

#include "reporter/diff.h"
#include "reporter/memory.h"
#include "reporter/model.h"
#include "reporter/render.h"
#include "reporter/report_from_dump.h"
#include "tests/reporter/server_runs.h"

namespace leaktrace::reporter {
namespace {

using format::Resource;
using namespace testing;  // FakeSymbols, Fn, the server runs (server_runs.h)

TEST(Diff, GrowthAcrossRunsWithDifferentLoadBiases) {
  FakeSymbols symbols = ServerSymbols();
  format::Dump before = ServerRun(kBiasA, 100, 1)
                            .Stack(1, {kBiasA + 0x1000, kBiasA + 0x2000})
                            .Stack(2, {kBiasA + 0x3000})
                            .Site(Resource::kHeap, 1, 1000, 10)
                            .Site(Resource::kHeap, 2, 500, 5)
                            .Build();
  format::Dump after = ServerRun(kBiasB, 200, 2)
                           .Stack(7, {kBiasB + 0x1000, kBiasB + 0x2000})
                           .Stack(8, {kBiasB + 0x3000})
                           .Site(Resource::kHeap, 7, 5800, 110)
                           .Site(Resource::kHeap, 8, 500, 5)
                           .Build();
  Report d = Diff(FromDump(before, symbols.Source()), FromDump(after, symbols.Source()));
  EXPECT_EQ(d.kind, ReportKind::kGrowth);
  ASSERT_EQ(d.sites.size(), 1u);  // the unchanged site is left out
  EXPECT_EQ(d.sites[0].bytes, 4800);
  EXPECT_EQ(d.sites[0].count, 100);
  EXPECT_EQ(d.sites[0].frames[1].function, "parse_header");
  EXPECT_EQ(d.baseline.size(), 1u);
  EXPECT_EQ(d.dumps.size(), 1u);
}

TEST(Diff, SignsSortingAndVanishedSites) {
  FakeSymbols symbols = ServerSymbols();
  format::Dump before = ServerRun(kBiasA, 100, 1)
                            .Stack(1, {kBiasA + 0x1000})
                            .Stack(2, {kBiasA + 0x2000})
                            .Stack(3, {kBiasA + 0x3000})
                            .Site(Resource::kHeap, 1, 1000, 10, 4)
                            .Site(Resource::kHeap, 2, 700, 7)
                            .Site(Resource::kFd, 3, 0, 1, 0, "socket")
                            .Build();
  format::Dump after = ServerRun(kBiasA, 100, 2)
                           .Stack(1, {kBiasA + 0x1000})
                           .Stack(3, {kBiasA + 0x3000})
                           .Site(Resource::kHeap, 1, 3000, 30, 5)
                           .Site(Resource::kFd, 3, 0, 4, 0, "socket")
                           .Site(Resource::kMmap, 3, 8192, 1)
                           .Site(Resource::kFd, 1, 0, 9, 0, "pipe")
                           .Build();
  Report d = Diff(FromDump(before, symbols.Source()), FromDump(after, symbols.Source()));
  ASSERT_EQ(d.sites.size(), 5u);
  // Byte resources by bytes, biggest growth first, shrinkage last; then fds by count.
  EXPECT_EQ(d.sites[0].resource, Resource::kMmap);
  EXPECT_EQ(d.sites[0].bytes, 8192);
  EXPECT_EQ(d.sites[1].resource, Resource::kHeap);
  EXPECT_EQ(d.sites[1].bytes, 2000);
  EXPECT_EQ(d.sites[1].var_bytes, 9);  // variances add
  EXPECT_EQ(d.sites[2].bytes, -700);   // vanished: shrank by all it had
  EXPECT_EQ(d.sites[2].count, -7);
  EXPECT_EQ(d.sites[3].resource, Resource::kFd);
  EXPECT_EQ(d.sites[3].count, 9);
  EXPECT_EQ(d.sites[3].label, "pipe");
  EXPECT_EQ(d.sites[4].count, 3);

  TotalsByResource t = ComputeTotals(d.sites);
  EXPECT_EQ(t[0].bytes, 1300);
  EXPECT_EQ(t[1].bytes, 8192);
  EXPECT_EQ(t[2].count, 12);
  EXPECT_DOUBLE_EQ(IntervalSeconds(d), 60.0);
}

TEST(Diff, IdenticalDumpsHaveNoGrowth) {
  FakeSymbols symbols = ServerSymbols();
  format::Dump a = ServerRun(kBiasA).Exact(false).Stack(1, {kBiasA + 0x1000}).Site(Resource::kHeap, 1, 1234.5, 3.2, 99).Build();
  Report r = FromDump(a, symbols.Source());
  EXPECT_TRUE(Diff(r, r).sites.empty());
}

// The headline's heap growth and the memory table's live heap are one
// figure: they carry one "±". A site that did not change is no growth and
// no error in either (before, the table added both snapshots' whole
// variances: an unchanged 100 MiB site's error counted twice).
TEST(Diff, TheMemoryTablesHeapErrorIsTheHeadlines) {
  FakeSymbols symbols = ServerSymbols();
  constexpr double kMiB = 1 << 20;
  auto run = [&](uint32_t seq, double grown_bytes, double grown_var, uint64_t rss) {
    return ServerRun(kBiasA, 100, seq)
        .SampleInterval(512 * 1024)
        .Stack(1, {kBiasA + 0x1000})
        .Stack(2, {kBiasA + 0x3000})
        .Site(Resource::kHeap, 1, 100 * kMiB, 1000, 9 * kMiB * kMiB)  // unchanged: the same samples
        .Site(Resource::kHeap, 2, grown_bytes, 100, grown_var)
        .Memory()
        .Memory("rss", rss)
        .Build();
  };
  const format::Dump before = run(1, 1 * kMiB, 1 * kMiB * kMiB, 200 << 20);
  const format::Dump after = run(2, 5 * kMiB, 3 * kMiB * kMiB, 300 << 20);
  const Report d = Diff(FromDump(before, symbols.Source()), FromDump(after, symbols.Source()));
  ASSERT_EQ(d.sites.size(), 1u);
  const double headline_var = ComputeTotals(d.sites)[static_cast<size_t>(Resource::kHeap)].var_bytes;
  EXPECT_DOUBLE_EQ(headline_var, 4 * kMiB * kMiB);
  const MemoryParts m = ReportMemory(d);
  ASSERT_TRUE(m.known);
  EXPECT_DOUBLE_EQ(m.heap, 4 * kMiB);
  EXPECT_DOUBLE_EQ(m.heap_var, headline_var);
  const std::string table = MemoryText(m, true, false);
  EXPECT_NE(table.find("live heap       +4.0 MiB ± 2.0 MiB"), std::string::npos) << table;

  // Under --older-than the sites count old objects only, the table every
  // one: each keeps its own error.
  Report old = FromDump(before, symbols.Source()), newer = FromDump(after, symbols.Source());
  old.older_than_s = newer.older_than_s = 60;
  EXPECT_DOUBLE_EQ(ReportMemory(Diff(old, newer)).heap_var, 22 * kMiB * kMiB);
}

}  // namespace
}  // namespace leaktrace::reporter
