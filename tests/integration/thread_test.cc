// Threads as a resource, end to end: programs/thread_leaks.c under the real
// library, snapshots by `leaktrace snapshot`, numbers from `leaktrace
// diff/report/check/export`. Threads are tracked exactly in every mode.
#include <gtest/gtest.h>
#include <pthread.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kPoolThreads = 16;             // POOL_THREADS
constexpr double kPoolStack = 256 * 1024;    // POOL_STACK
constexpr int kUnjoined = 2;                 // UNJOINED
const char* const kChurn[] = {"churn_joined",      "churn_detached_attr", "churn_self_detached", "churn_exit_nested",
                              "churn_cancelled",   "churn_timed_joins",   "churn_detached_late"};

double DefaultStackSize() {
  pthread_attr_t a;
  size_t size = 0;
  if (pthread_getattr_default_np(&a) == 0) {
    pthread_attr_getstacksize(&a, &size);
    pthread_attr_destroy(&a);
  }
  return static_cast<double>(size);
}

Growth Total(const nlohmann::json& doc, const std::string& resource) {
  Growth g;
  for (const auto& site : doc.value("sites", nlohmann::json::array())) {
    if (site.value("resource", "") != resource) continue;
    g.bytes += site.value("bytes", 0.0);
    g.count += site.value("count", 0.0);
    ++g.sites;
  }
  return g;
}

// The labels of the thread sites whose innermost program frame is `function`.
std::vector<std::string> LabelsAt(const nlohmann::json& doc, const std::string& function) {
  std::vector<std::string> labels;
  for (const auto& site : doc.value("sites", nlohmann::json::array())) {
    if (site.value("resource", "") != "thread") continue;
    for (const auto& frame : site["frames"]) {
      if (frame.value("module", "").find("thread_leaks") == std::string::npos || frame.value("inlined", false)) continue;
      if (frame.value("function", "") == function) labels.push_back(site.value("label", ""));
      break;
    }
  }
  return labels;
}

nlohmann::json Json(const CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

class ThreadPool : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    shots_ = new Snapshots(RunBetweenCheckpoints({ProgramPath("thread_leaks")}, *dir_));
  }
  static void TearDownTestSuite() {
    delete shots_;
    delete dir_;
  }
  static TempDir* dir_;
  static Snapshots* shots_;
};
TempDir* ThreadPool::dir_ = nullptr;
Snapshots* ThreadPool::shots_ = nullptr;

TEST_F(ThreadPool, DiffShowsTheBlockedPoolExactlyAtItsSpawningFunction) {
  ASSERT_EQ(shots_->exit_code, 0);
  const nlohmann::json diff = DiffJson(shots_->before, shots_->after);
  const Growth pool = GrowthAt(diff, "leak_pool", "thread_leaks", "thread");
  EXPECT_EQ(pool.count, kPoolThreads);
  EXPECT_EQ(pool.bytes, kPoolThreads * kPoolStack) << "their stacks, from the attribute";
  EXPECT_EQ(pool.sites, 1);
  EXPECT_EQ(diff["summary"]["thread"]["count"], kPoolThreads + kUnjoined);
}

TEST_F(ThreadPool, JoinableThreadsThatEndedButWereNeverJoinedStayCountedAsSuch) {
  const nlohmann::json diff = DiffJson(shots_->before, shots_->after);
  const Growth unjoined = GrowthAt(diff, "leak_unjoined", "thread_leaks", "thread");
  EXPECT_EQ(unjoined.count, kUnjoined);
  EXPECT_EQ(unjoined.bytes, kUnjoined * DefaultStackSize()) << "no attribute: the process default";
  EXPECT_EQ(LabelsAt(diff, "leak_unjoined"), std::vector<std::string>{"exited, not joined"});
  EXPECT_EQ(LabelsAt(diff, "leak_pool"), std::vector<std::string>{""}) << "running threads carry no label";
}

TEST_F(ThreadPool, EveryWayAThreadEndsAndIsReapedBalances) {
  const nlohmann::json diff = DiffJson(shots_->before, shots_->after);
  for (const char* fn : kChurn) EXPECT_EQ(GrowthAt(diff, fn, "thread_leaks", "thread").count, 0) << fn;
  const Growth all = Total(diff, "thread");
  EXPECT_EQ(all.count, kPoolThreads + kUnjoined) << diff.dump(1).substr(0, 4000);
  EXPECT_EQ(all.bytes, kPoolThreads * kPoolStack + kUnjoined * DefaultStackSize());
}

TEST_F(ThreadPool, ReportHoldsTheLiveThreadsAndNoneOfLeaktraceItself) {
  const nlohmann::json before = Json(Leaktrace({"report", "--format", "json", shots_->before}));
  EXPECT_EQ(Total(before, "thread").count, 0) << "the dumper thread is not the program's";
  const nlohmann::json after = Json(Leaktrace({"report", "--format", "json", shots_->after}));
  EXPECT_EQ(GrowthAt(after, "leak_pool", "thread_leaks", "thread").count, kPoolThreads);
  EXPECT_EQ(Total(after, "thread").count, kPoolThreads + kUnjoined);
  const CommandResult text = Leaktrace({"diff", shots_->before, shots_->after});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("thread +16 threads, stacks +4.0 MiB"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("leak_pool"), std::string::npos) << text.out;
}

TEST_F(ThreadPool, CheckMaxThreadsGatesOnTotalGrowth) {
  const CommandResult over = Leaktrace({"check", "--max-threads", "17", shots_->before, shots_->after});
  EXPECT_EQ(over.exit_code, 1) << over.out << over.err;
  EXPECT_NE(over.out.find("live threads grew by +18, more than --max-threads 17"), std::string::npos) << over.out;
  EXPECT_NE(over.out.find("leak_pool"), std::string::npos) << over.out;
  const CommandResult within = Leaktrace({"check", "--max-threads", "18", shots_->before, shots_->after});
  EXPECT_EQ(within.exit_code, 0) << within.out << within.err;

  const nlohmann::json j =
      Json(Leaktrace({"check", "--format", "json", "--max-threads", "18", shots_->before, shots_->after}));
  ASSERT_EQ(j["rules"].size(), 1u);
  EXPECT_EQ(j["rules"][0]["name"], "max-threads");
  EXPECT_EQ(j["rules"][0]["value"], 18);
  EXPECT_EQ(j["thresholds"]["max_threads"], 18);

  const nlohmann::json by_default = nlohmann::json::parse(
      Leaktrace({"check", "--format", "json", shots_->before, shots_->after}).out, nullptr, false);
  bool found = false;
  for (const auto& rule : by_default.value("rules", nlohmann::json::array()))
    if (rule["name"] == "thread-growth") {
      found = true;
      EXPECT_FALSE(rule["passed"].get<bool>());
    }
  EXPECT_TRUE(found) << by_default.dump(1).substr(0, 2000);
}

TEST_F(ThreadPool, SuppressionsHideThreadSites) {
  const std::string supp = dir_->path() + "/threads.supp";
  std::ofstream(supp) << "leak:leak_pool\nleak:leak_unjoined\n";
  const CommandResult r =
      Leaktrace({"check", "--max-threads", "0", "--suppressions", supp, shots_->before, shots_->after});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(ThreadPool, FoldedAndPprofExportCarryThreads) {
  const CommandResult folded =
      Leaktrace({"export", "--format", "folded", "--resource", "thread", "--base", shots_->before, shots_->after});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  EXPECT_TRUE(std::regex_search(folded.out, std::regex(R"(leak_pool[^\n]* 16\n)"))) << folded.out;
  const std::string pb = dir_->path() + "/threads.pb.gz";
  const CommandResult pprof =
      Leaktrace({"export", "--format", "pprof", "--resource", "thread", "-o", pb, shots_->after});
  ASSERT_EQ(pprof.exit_code, 0) << pprof.err;
  EXPECT_GT(fs::file_size(pb), 100u);
}

TEST(ThreadTrend, ASteadilyGrowingPoolIsALeakInThreadsPerMinute) {
  TempDir dir;
  TrackedProgram p({ProgramPath("thread_leaks"), "trend"}, dir.path());
  std::vector<std::string> args = {"trend", "--format", "json"};
  for (int k = 0; k < 4; ++k) {  // TREND_SNAPSHOTS
    p.ExpectCheckpoint("snap");
    args.push_back(p.Snapshot());
    p.Continue();
  }
  ASSERT_EQ(p.Wait(), 0);
  const nlohmann::json trend = Json(Leaktrace(args));
  int found = 0;
  for (const auto& site : trend.value("sites", nlohmann::json::array())) {
    if (site.value("resource", "") != "thread") continue;
    bool steady = false;
    for (const auto& f : site["frames"])
      if (f.value("function", "") == "leak_steadily") steady = true;
    if (steady) {
      ++found;
      EXPECT_EQ(site["verdict"], "leak") << site.dump(1);
      EXPECT_EQ(site["count"], 12) << "3 steps of 4 threads between the first and the last snapshot";
      EXPECT_EQ(site["slope_unit"], "count/min");
    } else {
      ADD_FAILURE() << "only leak_steadily's threads stay: " << site.dump(1);
    }
  }
  EXPECT_EQ(found, 1) << trend.dump(1).substr(0, 3000);
  args[2] = "text";
  const CommandResult text = Leaktrace(args);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("leak_steadily"), std::string::npos) << text.out;
}

TEST(ThreadFork, ChildCountsOnlyTheThreadThatForkedAndItsOwn) {
  TempDir dir;
  const CommandResult r = testing::Run({ProgramPath("thread_leaks"), "fork"},
                                       {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(),
                                        "LEAKTRACE_ON_EXIT=all"});  // the young child's exit dump too
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(parent ([0-9]+) child ([0-9]+))"))) << r.out;
  const std::string parent_dump = dir.path() + "/thread_leaks." + m[1].str() + ".1.dump";
  const std::string child_dump = dir.path() + "/thread_leaks." + m[2].str() + ".1.dump";

  const nlohmann::json child = Json(Leaktrace({"report", "--format", "json", child_dump}));
  EXPECT_EQ(GrowthAt(child, "spawn_before_fork", "thread_leaks", "thread").count, 0)
      << "the parent's other threads do not exist in the child";
  EXPECT_EQ(GrowthAt(child, "spawn_forker", "thread_leaks", "thread").count, 1) << "the thread that forked goes on";
  EXPECT_EQ(GrowthAt(child, "child_spawn", "thread_leaks", "thread").count, 1);
  EXPECT_EQ(Total(child, "thread").count, 2);

  const nlohmann::json parent = Json(Leaktrace({"report", "--format", "json", parent_dump}));
  EXPECT_EQ(GrowthAt(parent, "spawn_before_fork", "thread_leaks", "thread").count, 3);
  EXPECT_EQ(GrowthAt(parent, "spawn_forker", "thread_leaks", "thread").count, 0) << "joined";
  EXPECT_EQ(Total(parent, "thread").count, 3);
}

}  // namespace
}  // namespace leaktrace::testing
