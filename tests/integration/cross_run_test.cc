// Two separate runs of one binary: ASLR loads them at different addresses,
// and `leaktrace diff` / `check` must still match their call sites (keyed by
// function, file and line, or module build-id + offset, never by address).
// Also `check` exit codes, thresholds, suppressions and JUnit on real dumps.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <string>

#include "format/dump_reader.h"
#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

constexpr int kRequestSize = 96;  // programs/cross_run.c

struct Runs {
  std::string first, second;
};

std::string RunOnce(const TempDir& dir, int requests, int sessions) {
  TrackedProgram p({ProgramPath("cross_run"), std::to_string(requests), std::to_string(sessions)}, dir.path(),
                   {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=0"});
  p.ExpectCheckpoint("leaked");
  std::string path = p.Snapshot();
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);
  return path;
}

uint64_t MainProgramBias(const std::string& path) {
  for (const format::Module& m : format::ReadDump(path).modules)
    if (m.flags & format::kModuleMainProgram) return m.load_bias;
  ADD_FAILURE() << path << " has no main program module";
  return 0;
}

bool AslrEnabled() {
  std::ifstream in("/proc/sys/kernel/randomize_va_space");
  int v = 2;
  in >> v;
  return v != 0;
}

class CrossRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    runs_.first = RunOnce(*dir_, 10, 5);
    runs_.second = RunOnce(*dir_, 30, 5);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_->path() + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  static TempDir* dir_;
  static Runs runs_;
};
TempDir* CrossRun::dir_ = nullptr;
Runs CrossRun::runs_;

TEST_F(CrossRun, DiffMatchesSitesAcrossRunsDespiteDifferentLoadAddresses) {
  ASSERT_NE(MainProgramBias(runs_.first), 0u);
  if (AslrEnabled()) {
    EXPECT_NE(MainProgramBias(runs_.first), MainProgramBias(runs_.second)) << "both runs loaded at one address";
  } else {
    std::fprintf(stderr, "note: ASLR is disabled on this machine; the runs share their load addresses\n");
  }

  const nlohmann::json diff = DiffJson(runs_.first, runs_.second);
  // Only the site that leaked more in the second run grew ...
  const Growth requests = GrowthAt(diff, "leak_requests", "cross_run");
  EXPECT_EQ(requests.sites, 1);
  EXPECT_EQ(requests.count, 20);
  EXPECT_EQ(requests.bytes, 20 * kRequestSize);
  // ... and the one that leaked the same in both matched itself to zero.
  EXPECT_EQ(GrowthThrough(diff, "leak_sessions").sites, 0) << diff.dump(1).substr(0, 3000);
  // Nothing in the program's own code shows as shrunk (an unmatched site
  // would appear once as new and once as gone).
  for (const auto& site : diff["sites"])
    for (const auto& frame : site["frames"])
      if (frame.value("function", "") == "main") {
        EXPECT_GE(site["bytes"].get<double>(), 0) << site;
      }

  const CommandResult text = Leaktrace({"diff", runs_.first, runs_.second});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("leak_requests"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("leak_sessions"), std::string::npos) << text.out;
  // Warnings only about modules in the sites shown: libstdc++'s start-up
  // pool (live in every report) does not grow, so the diff is quiet about it.
  EXPECT_EQ(text.err.find("libstdc++"), std::string::npos) << text.err;
  const CommandResult report = Leaktrace({"report", runs_.second});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  int warning_lines = 0;
  for (size_t at = report.err.find("no debug information"); at != std::string::npos;
       at = report.err.find("no debug information", at + 1))
    ++warning_lines;
  EXPECT_LE(warning_lines, 1) << report.err;  // all such modules on one line
}

TEST_F(CrossRun, GroupByFunctionAndDepth) {
  const CommandResult r = Leaktrace({"report", "--format", "json", "--group-by", "function", runs_.second});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  int requests = 0;
  for (const auto& site : doc["sites"]) {
    ASSERT_EQ(site["frames"].size(), 1u) << site;
    if (site["frames"][0]["function"] == "leak_requests") {
      ++requests;
      EXPECT_EQ(site["count"], 30);
    }
  }
  EXPECT_EQ(requests, 1);
  const CommandResult depth = Leaktrace({"diff", "--format", "json", "--depth", "2", runs_.first, runs_.second});
  ASSERT_EQ(depth.exit_code, 0) << depth.err;
  const nlohmann::json folded = nlohmann::json::parse(depth.out);
  for (const auto& site : folded["sites"]) EXPECT_LE(site["frames"].size(), 2u) << site;
  EXPECT_EQ(Leaktrace({"report", "--depth", "0", runs_.second}).exit_code, 2);
  EXPECT_EQ(Leaktrace({"report", "--group-by", "file", runs_.second}).exit_code, 2);
}

TEST_F(CrossRun, CheckExitCodesThresholdsAndSuppressions) {
  const std::string& a = runs_.first;
  const std::string& b = runs_.second;
  // No growth from a run to itself; growth from the first to the second.
  EXPECT_EQ(Leaktrace({"check", a, a}).exit_code, 0);
  const CommandResult failed = Leaktrace({"check", a, b});
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_NE(failed.out.find("check FAILED"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("leak_requests"), std::string::npos) << failed.out;

  // Thresholds: 20 * 96 = 1920 bytes grew at one site.
  EXPECT_EQ(Leaktrace({"check", "--max-site-bytes", "1k", a, b}).exit_code, 1);
  EXPECT_EQ(Leaktrace({"check", "--max-site-bytes", "1920", a, b}).exit_code, 0);
  EXPECT_EQ(Leaktrace({"check", "--max-bytes", "1k", a, b}).exit_code, 1);
  EXPECT_EQ(Leaktrace({"check", "--max-bytes", "64k", a, b}).exit_code, 0);
  EXPECT_EQ(Leaktrace({"check", "--max-fds", "0", "--max-mmap-bytes", "0", a, b}).exit_code, 0);

  // Suppressions, by function and by file.
  const std::string by_function = Write("by-function.supp", "# requests grow on purpose\nleak:leak_requests\n");
  const CommandResult suppressed = Leaktrace({"check", "--suppressions", by_function, a, b});
  EXPECT_EQ(suppressed.exit_code, 0) << suppressed.out;
  EXPECT_NE(suppressed.out.find("suppressed"), std::string::npos) << suppressed.out;
  const std::string other = Write("other.supp", "leak:^leak_sessions$\n");
  EXPECT_EQ(Leaktrace({"check", "--suppressions", other, a, b}).exit_code, 1);
  const std::string by_file = Write("by-file.supp", "leak:programs/cross_run.c\n");
  EXPECT_EQ(Leaktrace({"check", "--suppressions", by_file, a, b}).exit_code, 0);

  // Bad input: exit 2 with one line naming the problem.
  const std::string bad = Write("bad.supp", "leak:ok\ninterceptor_via_fun:x\n");
  const CommandResult bad_supp = Leaktrace({"check", "--suppressions", bad, a, b});
  EXPECT_EQ(bad_supp.exit_code, 2);
  EXPECT_NE(bad_supp.err.find("bad.supp:2"), std::string::npos) << bad_supp.err;
  std::ifstream in(b, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = Write("cut.dump", bytes.substr(0, bytes.size() - 9));
  const CommandResult truncated = Leaktrace({"check", a, cut});
  EXPECT_EQ(truncated.exit_code, 2);
  EXPECT_NE(truncated.err.find("cut.dump"), std::string::npos) << truncated.err;
}

TEST_F(CrossRun, CheckJsonAndJunitOnRealDumps) {
  const CommandResult json = Leaktrace({"check", "--format", "json", "--max-site-bytes", "1k", runs_.first, runs_.second});
  EXPECT_EQ(json.exit_code, 1);
  const nlohmann::json doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["kind"], "check");
  EXPECT_FALSE(doc["passed"].get<bool>());
  ASSERT_EQ(doc["rules"].size(), 1u);
  EXPECT_EQ(doc["rules"][0]["name"], "max-site-bytes");
  EXPECT_EQ(doc["rules"][0]["value"], 20 * kRequestSize);
  ASSERT_FALSE(doc["sites"].empty());

  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs python3 for the XML parser";
  const CommandResult junit = Leaktrace({"check", "--format", "junit", runs_.first, runs_.second});
  EXPECT_EQ(junit.exit_code, 1);
  const std::string xml = Write("check.xml", junit.out);
  // A real XML parser reads it; one failed test names the leaking function.
  const CommandResult parsed = leaktrace::testing::Run({"/usr/bin/python3", "-c",
                                    "import sys, xml.etree.ElementTree as ET\n"
                                    "suite = ET.parse(sys.argv[1]).getroot()\n"
                                    "assert suite.tag == 'testsuite', suite.tag\n"
                                    "for case in suite.iter('testcase'):\n"
                                    "    if case.find('failure') is not None:\n"
                                    "        print(case.get('classname') + '|' + case.get('name'))\n",
                                    xml});
  ASSERT_EQ(parsed.exit_code, 0) << parsed.err << junit.out;
  EXPECT_NE(parsed.out.find("leaktrace.rules|heap-growth"), std::string::npos) << parsed.out;
  EXPECT_NE(parsed.out.find("leaktrace.sites.heap|leak_requests (" ), std::string::npos) << parsed.out;
  EXPECT_EQ(parsed.out.find("leak_sessions"), std::string::npos) << parsed.out;
}

}  // namespace
}  // namespace leaktrace::testing
