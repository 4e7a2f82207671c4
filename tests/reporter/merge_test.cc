// Merging the reports of several processes (merge.h): sites add up, the dumps
// are kept, one sampled input makes the whole estimate.
#include <gtest/gtest.h>

#include "reporter/merge.h"
#include "reporter/report_from_dump.h"
#include "tests/reporter/server_runs.h"

namespace leaktrace::reporter {
namespace {

using format::Resource;
using namespace testing;  // FakeSymbols, Fn, the server runs (server_runs.h)

TEST(Merge, AddsUpWorkersAndKeepsDumps) {
  FakeSymbols symbols = ServerSymbols();
  format::Dump w1 = ServerRun(kBiasA, 101).Stack(1, {kBiasA + 0x1000}).Site(Resource::kHeap, 1, 1000, 10).Build();
  format::Dump w2 = ServerRun(kBiasB, 102)
                        .Stack(5, {kBiasB + 0x1000})
                        .Stack(6, {kBiasB + 0x2000})
                        .Site(Resource::kHeap, 5, 500, 5)
                        .Site(Resource::kHeap, 6, 9000, 1)
                        .Build();
  Report merged = Merge({FromDump(w1, symbols.Source()), FromDump(w2, symbols.Source())});
  ASSERT_EQ(merged.sites.size(), 2u);
  EXPECT_EQ(merged.dumps.size(), 2u);
  EXPECT_EQ(merged.sites[0].bytes, 9000);  // biggest first
  EXPECT_EQ(merged.sites[1].bytes, 1500);
  EXPECT_EQ(merged.sites[1].count, 15);
  EXPECT_TRUE(merged.exact);
}

TEST(Merge, SampledInputMakesReportInexact) {
  FakeSymbols symbols = ServerSymbols();
  format::Dump exact = ServerRun(kBiasA).Stack(1, {kBiasA + 0x1000}).Site(Resource::kHeap, 1, 10, 1).Build();
  format::Dump sampled = ServerRun(kBiasA, 2).Exact(false).Stack(1, {kBiasA + 0x1000}).Site(Resource::kHeap, 1, 10, 1).Build();
  EXPECT_FALSE(Merge({FromDump(exact, symbols.Source()), FromDump(sampled, symbols.Source())}).exact);
}

}  // namespace
}  // namespace leaktrace::reporter
