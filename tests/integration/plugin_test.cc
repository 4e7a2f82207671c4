// Unloaded plugins: a plugin dlopen'ed, used and dlclose'd between two
// snapshots still symbolizes. The dump keeps the module (flagged unloaded,
// with its load range and build id) because the library's dlclose hook
// records the module list before the real dlclose.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "format/dump_reader.h"
#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

constexpr int kLeaks = 25;
constexpr int kBlockSize = 72;  // PLUGIN_BLOCK_SIZE in programs/plugin.c

// The line of programs/<file> holding "LINE: <marker>".
int MarkerLine(const std::string& file, const std::string& marker) {
  std::ifstream in(std::string(LEAKTRACE_TEST_PROGRAM_SOURCES) + "/" + file);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find("LINE: " + marker + " ") != std::string::npos) return n;
  ADD_FAILURE() << "no marker " << marker << " in " << file;
  return -1;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST(Plugin, ClosedBeforeTheSnapshotStillSymbolizes) {
  TempDir dir;
  std::string before, after;
  {
    TrackedProgram p({ProgramPath("plugin_host"), LEAKTRACE_TEST_PLUGIN, std::to_string(kLeaks)}, dir.path(),
                     {"LEAKTRACE_SAMPLE=1"});
    p.ExpectCheckpoint("before");
    before = p.Snapshot();
    p.Continue();
    p.ExpectCheckpoint("after");  // the plugin is closed and unloaded by now
    after = p.Snapshot();
    p.Continue();
    ASSERT_EQ(p.Wait(), 0);
  }

  // The dump knows the plugin, flagged unloaded, though no snapshot ever
  // saw it loaded.
  const format::Dump dump = format::ReadDump(after);
  const format::Module* plugin = nullptr;
  for (const format::Module& m : dump.modules)
    if (m.path == LEAKTRACE_TEST_PLUGIN) plugin = &m;
  ASSERT_NE(plugin, nullptr) << "the plugin is missing from the dump's modules";
  EXPECT_TRUE(plugin->flags & format::kModuleUnloaded);
  EXPECT_FALSE(plugin->build_id.empty());
  EXPECT_FALSE(plugin->segments.empty());
  for (const format::Module& m : format::ReadDump(before).modules) EXPECT_NE(m.path, LEAKTRACE_TEST_PLUGIN);

  const int malloc_line = MarkerLine("plugin.c", "plugin-malloc");
  const int call_line = MarkerLine("plugin.c", "plugin-call");
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"report", "--format", "json", after},
        std::vector<std::string>{"diff", "--format", "json", before, after}}) {
    const CommandResult r = Leaktrace(command);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json doc = nlohmann::json::parse(r.out);
    const nlohmann::json* site = nullptr;
    for (const auto& s : doc["sites"])
      if (!s["frames"].empty() && s["frames"][0].value("module", "") == LEAKTRACE_TEST_PLUGIN) site = &s;
    ASSERT_NE(site, nullptr) << command[0] << ": no site in the plugin\n" << r.out.substr(0, 3000);
    EXPECT_EQ((*site)["count"], kLeaks);
    EXPECT_EQ((*site)["bytes"], kLeaks * kBlockSize);
    const nlohmann::json& frames = (*site)["frames"];
    ASSERT_GE(frames.size(), 2u);
    // The inlined helper, at the malloc call ...
    EXPECT_EQ(frames[0]["function"], "make_record");
    EXPECT_TRUE(frames[0]["inlined"].get<bool>());
    EXPECT_TRUE(EndsWith(frames[0].value("file", ""), "programs/plugin.c")) << frames[0];
    EXPECT_EQ(frames[0].value("line", 0), malloc_line);
    // ... inside the plugin's exported function, at the helper's call.
    EXPECT_EQ(frames[1]["function"], "plugin_leak");
    EXPECT_FALSE(frames[1]["inlined"].get<bool>());
    EXPECT_EQ(frames[1]["module"], LEAKTRACE_TEST_PLUGIN);
    EXPECT_TRUE(EndsWith(frames[1].value("file", ""), "programs/plugin.c")) << frames[1];
    EXPECT_EQ(frames[1].value("line", 0), call_line);
    // and then the host that called it.
    bool host = false;
    for (const auto& f : frames) host = host || f.value("function", "") == "main";
    EXPECT_TRUE(host) << frames;
  }

  // People see the same in text.
  const CommandResult text = Leaktrace({"diff", before, after});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("plugin.c:" + std::to_string(call_line)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("plugin_leak"), std::string::npos) << text.out;
}

// The module map's lock against the loader's, fork and the dumper: plugins
// opened and closed on one thread while another forks and snapshots are
// taken; then a fork child that exits normally (its exit dump takes the
// lock its parent held across fork). Must neither deadlock (the program
// dies by SIGALRM) nor lose the plugin.
TEST(Plugin, OpenCloseWhileForkingAndSnapshotting) {
  TempDir dir;
  std::string last;
  {
    // LEAKTRACE_ON_EXIT=all: the last child exits young, and must still
    // write its exit dump.
    TrackedProgram p({ProgramPath("plugin_host"), LEAKTRACE_TEST_PLUGIN, "storm"}, dir.path(),
                     {"LEAKTRACE_SAMPLE=1", "LEAKTRACE_ON_EXIT=all"});
    p.ExpectCheckpoint("storm");
    for (int i = 0; i < 5; ++i) p.Snapshot();
    p.Continue();
    p.ExpectCheckpoint("done");
    last = p.Snapshot();
    p.Continue();
    ASSERT_EQ(p.Wait(), 0);
  }
  const CommandResult r = Leaktrace({"report", "--format", "json", "--group-by", "function", last});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  double leaked = 0;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  for (const auto& site : doc["sites"])
    if (!site["frames"].empty() && site["frames"][0]["function"] == "make_record") leaked += site["count"].get<double>();
  EXPECT_GE(leaked, 1) << r.out.substr(0, 3000);
}

}  // namespace
}  // namespace leaktrace::testing
