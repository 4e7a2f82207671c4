// Descriptors and mappings, end to end: real programs under the real
// library, snapshots by `leaktrace snapshot`, numbers from `leaktrace diff`
// and `leaktrace report`. Descriptors and mappings are tracked exactly in
// every mode, so these run in the default (sampled heap) mode.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

const long kPage = sysconf(_SC_PAGESIZE);

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// label -> count of the sites of `resource` whose innermost frame in
// `module_suffix` is `function` (as GrowthAt picks them).
std::map<std::string, double> LabelsAt(const nlohmann::json& doc, const std::string& function,
                                       const std::string& module_suffix, const std::string& resource) {
  std::map<std::string, double> labels;
  if (!doc.contains("sites")) return labels;
  for (const auto& site : doc["sites"]) {
    if (site.value("resource", "") != resource) continue;
    for (const auto& frame : site["frames"]) {
      if (!EndsWith(frame.value("module", ""), module_suffix) || frame.value("inlined", false)) continue;
      if (frame.value("function", "") == function) labels[site.value("label", "")] += site.value("count", 0.0);
      break;
    }
  }
  return labels;
}

// Totals of one resource over every site.
Growth Total(const nlohmann::json& doc, const std::string& resource) {
  Growth g;
  if (!doc.contains("sites")) return g;
  for (const auto& site : doc["sites"]) {
    if (site.value("resource", "") != resource) continue;
    g.bytes += site.value("bytes", 0.0);
    g.count += site.value("count", 0.0);
    ++g.sites;
  }
  return g;
}

nlohmann::json ReportJson(const std::string& dump) {
  const CommandResult r = Leaktrace({"report", "--format", "json", dump});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "report printed no JSON: " << e.what();
    return nlohmann::json::object();
  }
}

std::vector<std::string> DumpsIn(const std::string& dir) {
  std::vector<std::string> dumps;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (EndsWith(e.path().string(), ".dump")) dumps.push_back(e.path().string());
  return dumps;
}

// ---- every kind, exactly ---------------------------------------------------

struct Expected {
  const char* function;
  double count;
  const char* label;  // the one label all of them carry
};

TEST(FdMmapExact, EveryKindLeakedIsCountedExactlyAndChurnIsZero) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("leaky_fds")}, dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);

  const Expected fds[] = {
      {"leak_open", 3, "file:/etc/passwd"},
      {"leak_openat", 4, "file:/etc/passwd"},
      {"leak_creat", 2, nullptr},  // paths differ per file
      {"leak_socket_inet", 5, "socket inet/stream"},
      {"leak_socket_unix", 3, "socket unix/dgram"},
      {"leak_socketpair", 2 * 2, "socket unix/stream"},
      {"leak_accept", 3, "socket inet/stream"},
      {"leak_accept4", 2, "socket inet/stream"},
      {"leak_pipe", 2 * 2, "pipe"},
      {"leak_pipe2", 3, "pipe"},
      {"leak_dup", 4, "file:/etc/passwd"},
      {"leak_fcntl_dupfd", 3, "file:/etc/passwd"},
      {"leak_fopen", 6, "file:/etc/passwd"},
      {"leak_fdopen", 2, "file:/etc/passwd"},
      {"leak_opendir", 4, "dir:/etc"},
      {"leak_epoll", 2, "epoll"},
      {"leak_eventfd", 3, "eventfd"},
      {"leak_timerfd", 2, "timerfd"},
      {"leak_signalfd", 1, "signalfd"},
      {"leak_inotify", 2, "inotify"},
      {"leak_memfd", 3, "memfd"},
      {"leak_pty", 1, "pty"},
      {"leak_shm_open", 2, nullptr},  // names differ per object
      {"leak_mkstemp", 3, nullptr},
      {"leak_tmpfile", 2, nullptr},
  };
  double expected_fds = 0;
  for (const Expected& e : fds) {
    SCOPED_TRACE(e.function);
    const Growth g = GrowthAt(diff, e.function, "leaky_fds", "fd");
    EXPECT_EQ(g.count, e.count);
    EXPECT_EQ(g.bytes, 0);
    expected_fds += e.count;
    const auto labels = LabelsAt(diff, e.function, "leaky_fds", "fd");
    if (e.label != nullptr) {
      ASSERT_EQ(labels.size(), 1u);
      EXPECT_EQ(labels.begin()->first, e.label);
    } else {
      for (const auto& [label, count] : labels) {
        const bool scratch = label.rfind("file:/tmp/leaky_fds.", 0) == 0;
        const bool shm = label.rfind("file:/dev/shm/leaky_fds.", 0) == 0;
        const bool unnamed_temp = label.rfind("file:/tmp/", 0) == 0;  // tmpfile(): O_TMPFILE, no name
        EXPECT_TRUE(scratch || shm || unnamed_temp) << label;
      }
    }
  }

  const Growth anon = GrowthAt(diff, "leak_mmap_anon", "leaky_fds", "mmap");
  EXPECT_EQ(anon.count, 5);
  EXPECT_EQ(anon.bytes, 5 * 3 * kPage);
  EXPECT_EQ(LabelsAt(diff, "leak_mmap_anon", "leaky_fds", "mmap").begin()->first, "anon");
  const Growth file = GrowthAt(diff, "leak_mmap_file", "leaky_fds", "mmap");
  EXPECT_EQ(file.count, 2);
  EXPECT_EQ(file.bytes, 2 * kPage);
  EXPECT_EQ(LabelsAt(diff, "leak_mmap_file", "leaky_fds", "mmap").begin()->first, "file:/etc/passwd");
  // mremap keeps the mapping's creating stack: the grown size counts there.
  const Growth remapped = GrowthAt(diff, "leak_mremap", "leaky_fds", "mmap");
  EXPECT_EQ(remapped.count, 3);
  EXPECT_EQ(remapped.bytes, 3 * 5 * kPage);

  // Balanced churn, on two threads, shows nothing.
  for (const char* resource : {"fd", "mmap"}) {
    SCOPED_TRACE(resource);
    const Growth churn = GrowthThrough(diff, "churn_balanced", resource);
    EXPECT_EQ(churn.count, 0);
    EXPECT_EQ(churn.bytes, 0);
  }
  // Nothing else grew: no stray descriptor or mapping (leaktrace's own, the
  // allocator's) anywhere.
  EXPECT_EQ(Total(diff, "fd").count, expected_fds);
  EXPECT_EQ(Total(diff, "mmap").count, 5 + 2 + 3);
  EXPECT_EQ(Total(diff, "mmap").bytes, (5 * 3 + 2 + 3 * 5) * kPage);
}

TEST(FdMmapExact, CheckGatesOnDescriptorsAndMappedBytes) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("leaky_fds")}, dir);
  ASSERT_EQ(s.exit_code, 0);
  const std::string fds = "73";  // the sum of the table above
  const std::string mapped = std::to_string((5 * 3 + 2 + 3 * 5) * kPage);
  const std::string unlimited_heap = "1g";
  EXPECT_EQ(Leaktrace({"check", "--max-bytes", unlimited_heap, "--max-fds", fds, "--max-mmap-bytes", mapped,
                       s.before, s.after})
                .exit_code,
            0);
  const CommandResult too_many_fds = Leaktrace({"check", "--max-bytes", unlimited_heap, "--max-fds", "72",
                                                "--max-mmap-bytes", mapped, s.before, s.after});
  EXPECT_EQ(too_many_fds.exit_code, 1) << too_many_fds.out << too_many_fds.err;
  const CommandResult too_many_bytes =
      Leaktrace({"check", "--max-bytes", unlimited_heap, "--max-fds", fds, "--max-mmap-bytes",
                 std::to_string((5 * 3 + 2 + 3 * 5) * kPage - 1), s.before, s.after});
  EXPECT_EQ(too_many_bytes.exit_code, 1) << too_many_bytes.out << too_many_bytes.err;
  // The text report names the descriptor sites with their kind.
  const CommandResult text = Leaktrace({"diff", s.before, s.after});
  EXPECT_NE(text.out.find("socket inet/stream"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("leak_socket_inet"), std::string::npos) << text.out;
}

// ---- mappings: range accounting --------------------------------------------

TEST(MmapRanges, PartialMunmapFixedOverlayAndShrink) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("fd_scenarios"), "partial-munmap"}, dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);

  // 10 pages, head, tail and two middle pages unmapped: 6 pages in 3 pieces,
  // still one mapping each.
  const Growth partial = GrowthAt(diff, "map_partial", "fd_scenarios", "mmap");
  EXPECT_EQ(partial.count, 3);
  EXPECT_EQ(partial.bytes, 3 * 6 * kPage);
  // MAP_FIXED over 2 of 8 pages: they belong to the new mapping now.
  const Growth base = GrowthAt(diff, "map_fixed_base", "fd_scenarios", "mmap");
  EXPECT_EQ(base.count, 1);
  EXPECT_EQ(base.bytes, 6 * kPage);
  const Growth fixed = GrowthAt(diff, "replace_fixed", "fd_scenarios", "mmap");
  EXPECT_EQ(fixed.count, 1);
  EXPECT_EQ(fixed.bytes, 2 * kPage);
  const Growth shrunk = GrowthAt(diff, "map_then_shrink", "fd_scenarios", "mmap");
  EXPECT_EQ(shrunk.count, 1);
  EXPECT_EQ(shrunk.bytes, kPage);
  const Growth gone = GrowthAt(diff, "map_unmapped_in_pieces", "fd_scenarios", "mmap");
  EXPECT_EQ(gone.count, 0);
  EXPECT_EQ(gone.bytes, 0);
  EXPECT_EQ(Total(diff, "mmap").bytes, (3 * 6 + 6 + 2 + 1) * kPage);
}

// ---- descriptors: dup2 over an open one, SCM_RIGHTS, fork, exec -------------

TEST(FdScenarios, Dup2OverAnOpenDescriptorClosesIt) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("fd_scenarios"), "dup2"}, dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);
  // The files opened as targets were closed by dup2/dup3, the sources by close.
  EXPECT_EQ(GrowthAt(diff, "open_target", "fd_scenarios", "fd").count, 0);
  EXPECT_EQ(GrowthAt(diff, "make_socket_source", "fd_scenarios", "fd").count, 0);
  EXPECT_EQ(GrowthAt(diff, "make_eventfd_source", "fd_scenarios", "fd").count, 0);
  // What is left are the copies, with their source's kind.
  EXPECT_EQ(GrowthAt(diff, "dup2_over", "fd_scenarios", "fd").count, 1);
  EXPECT_EQ(LabelsAt(diff, "dup2_over", "fd_scenarios", "fd"),
            (std::map<std::string, double>{{"socket inet/stream", 1}}));
  EXPECT_EQ(GrowthAt(diff, "dup3_over", "fd_scenarios", "fd").count, 1);
  EXPECT_EQ(LabelsAt(diff, "dup3_over", "fd_scenarios", "fd"), (std::map<std::string, double>{{"eventfd", 1}}));
  EXPECT_EQ(Total(diff, "fd").count, 2);
}

// Descriptors closed by syscall(SYS_close) and syscall(SYS_close_range)
// (code that predates glibc's close_range calls it so) are closed for the
// report too; they used to stay counted as open, a leak that was not there.
TEST(FdScenarios, DescriptorsClosedByARawSystemCallAreClosed) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("fd_scenarios"), "raw-close"}, dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);
  EXPECT_EQ(GrowthAt(diff, "move_for_close", "fd_scenarios", "fd").count, 0);
  EXPECT_EQ(GrowthAt(diff, "move_for_range", "fd_scenarios", "fd").count, 0);
  EXPECT_EQ(GrowthAt(diff, "open_raw_kept", "fd_scenarios", "fd").count, 2);  // RAW_KEPT
  // Made by syscall(SYS_memfd_create) (a JVM's ZGC heap): counted, as memfds.
  EXPECT_EQ(GrowthAt(diff, "make_raw_memfd", "fd_scenarios", "fd").count, 2);
  EXPECT_EQ(Total(diff, "fd").count, 4);
}

// openpty and forkpty open their ptys inside libc, where no other hook sees
// them: a terminal server's panes (tmux) were in no dump.
TEST(FdScenarios, PtysOfOpenptyAndForkptyAreCounted) {
  TempDir dir;
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("fd_scenarios"), "pty"}, dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);
  EXPECT_EQ(GrowthAt(diff, "open_pty_pair", "fd_scenarios", "fd").count, 2);
  EXPECT_EQ(GrowthAt(diff, "fork_pty", "fd_scenarios", "fd").count, 1);
  EXPECT_EQ(Total(diff, "fd").count, 3);
}

// A descriptor opened by an absolute path is recorded with a guessed kind,
// checked (fstat) only at a snapshot that finds it open: every kind of path,
// paths renamed or deleted after the open, copies, and numbers dup2 gave
// something else before the snapshot must come out as docs/resources.md says.
TEST(FdScenarios, LabelsOfOpenedPathsAreWhatWasOpened) {
  TempDir dir;
  const std::string files = dir.path() + "/files";
  ASSERT_TRUE(std::filesystem::create_directory(files));
  const std::string d = std::filesystem::canonical(files).string();
  const Snapshots s = RunBetweenCheckpoints({ProgramPath("fd_scenarios"), "labels", d}, dir);
  ASSERT_EQ(s.exit_code, 0);
  const nlohmann::json diff = DiffJson(s.before, s.after);
  using Labels = std::map<std::string, double>;
  // The kind from fstat whatever the path looks like; a failed dup2 onto a
  // descriptor leaves it as it was ("survivor").
  EXPECT_EQ(LabelsAt(diff, "open_abs", "fd_scenarios", "fd"),
            (Labels{{"file:" + d + "/plain", 1},
                    {"dir:" + d + "/subdir", 1},
                    {"fifo:" + d + "/fifo", 1},
                    {"device:/dev/null", 1},
                    {"file:" + d + "/survivor", 1}}));
  // A relative path: the file's path when it was opened, not after its rename.
  // "./" segments dropped; ".." left to the descriptor (a symbolic link's
  // parent is not the lexical one).
  EXPECT_EQ(LabelsAt(diff, "open_relative", "fd_scenarios", "fd"),
            (Labels{{"file:" + d + "/relative", 1}, {"file:" + d + "/subdir/dotted", 1}, {"file:" + d + "/outer", 1}}));
  // Relative to the working directory after a chdir, then an fchdir: each
  // the one the open was relative to (leaktrace keeps the working
  // directory's path between changes).
  EXPECT_EQ(LabelsAt(diff, "open_after_chdir", "fd_scenarios", "fd"),
            (Labels{{"file:" + d + "/subdir/inner", 1}, {"file:" + d + "/plain", 1}}));
  // ... and after glibc's nftw moved it by calls no hook sees (FTW_CHDIR):
  // the kept directory is stale, and the snapshot's check of the
  // descriptor puts the real one in (before: DIR/inner).
  EXPECT_EQ(LabelsAt(diff, "open_in_walk", "fd_scenarios", "fd"), (Labels{{"file:" + d + "/subdir/inner", 1}}));
  // Relative to a directory descriptor: that directory's path.
  EXPECT_EQ(LabelsAt(diff, "open_at_dir", "fd_scenarios", "fd"), (Labels{{"file:" + d + "/subdir/inner", 1}}));
  // An absolute path: the one the program gave, renamed or deleted since.
  EXPECT_EQ(LabelsAt(diff, "open_then_renamed", "fd_scenarios", "fd"), (Labels{{"file:" + d + "/renamed-from", 1}}));
  EXPECT_EQ(LabelsAt(diff, "open_then_deleted", "fd_scenarios", "fd"), (Labels{{"file:" + d + "/deleted", 1}}));
  // A copy is the file it copies, even after its source's number became a pipe.
  EXPECT_EQ(LabelsAt(diff, "copy_with_dup2", "fd_scenarios", "fd"), (Labels{{"file:" + d + "/copied", 1}}));
  // Numbers dup2 gave something else: what is there now, at the dup2.
  EXPECT_EQ(LabelsAt(diff, "pipe_over", "fd_scenarios", "fd"), (Labels{{"pipe", 2}}));
  EXPECT_EQ(LabelsAt(diff, "untracked_over", "fd_scenarios", "fd"), (Labels{{"eventfd", 1}}));
  EXPECT_EQ(Total(diff, "fd").count, 18);
}

// Received by recvmsg, and by recvmmsg.
TEST(FdScenarios, DescriptorsReceivedWithScmRightsBelongToTheReceiver) {
  for (const std::string how : {"scm-rights", "scm-rights-mmsg"}) {
    TempDir dir;
    const Snapshots s = RunBetweenCheckpoints({ProgramPath("fd_scenarios"), how}, dir);
    ASSERT_EQ(s.exit_code, 0) << how;
    const nlohmann::json diff = DiffJson(s.before, s.after);
    EXPECT_EQ(GrowthAt(diff, "send_fds", "fd_scenarios", "fd").count, 0) << how;
    EXPECT_EQ(GrowthAt(diff, "receive_fds", "fd_scenarios", "fd").count, 6) << how;
    EXPECT_EQ(LabelsAt(diff, "receive_fds", "fd_scenarios", "fd"),
              (std::map<std::string, double>{{"file:/etc/passwd", 3}, {"pipe", 2}, {"socket inet/dgram", 1}}))
        << how;
    EXPECT_EQ(Total(diff, "fd").count, 6) << how;
  }
}

TEST(FdScenarios, AForkChildOwnsItsInheritedDescriptors) {
  TempDir dir;
  const CommandResult run =
      testing::Run({ProgramPath("fd_scenarios"), "fork"},
                   {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_ON_EXIT=all"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<std::string> dumps = DumpsIn(dir.path());
  ASSERT_EQ(dumps.size(), 2u);  // the young child's too (LEAKTRACE_ON_EXIT=all)
  // Which is which: the child's dump has the child's sockets.
  int seen_parent = 0, seen_child = 0;
  for (const std::string& dump : dumps) {
    const nlohmann::json report = ReportJson(dump);
    const double inherited = GrowthAt(report, "open_before_fork", "fd_scenarios", "fd").count;
    const double child = GrowthAt(report, "child_opens", "fd_scenarios", "fd").count;
    if (child > 0) {
      ++seen_child;
      EXPECT_EQ(inherited, 4 - 1) << dump;  // inherited, one closed by the child
      EXPECT_EQ(child, 2) << dump;
    } else {
      ++seen_parent;
      EXPECT_EQ(inherited, 4) << dump;  // the child's close is not the parent's
    }
  }
  EXPECT_EQ(seen_parent, 1);
  EXPECT_EQ(seen_child, 1);
}

// Sites only fork children reach (a shell's `$(...)` redirecting its output):
// the first child unwinds them in full, the later ones are answered by what
// earlier children taught the parent (unwind_cache.cc, "Lessons"). Every
// child's dump must still name both of its descriptors with the whole chain,
// frame for frame the same in each child.
TEST(FdScenarios, ForkChildrenAtChildOnlySitesKeepWholeStacks) {
  constexpr int kChildren = 12;  // SERIES_CHILDREN in fd_scenarios.c
  for (const bool exact : {false, true}) {
    SCOPED_TRACE(exact ? "exact mode" : "default mode");
    TempDir dir;
    std::vector<std::string> env = {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(),
                                    "LEAKTRACE_ON_EXIT=all"};
    if (exact) env.push_back("LEAKTRACE_SAMPLE=1");
    const CommandResult run = testing::Run({ProgramPath("fd_scenarios"), "fork-series"}, env);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const std::vector<std::string> dumps = DumpsIn(dir.path());
    ASSERT_EQ(dumps.size(), static_cast<size_t>(kChildren + 1));  // every child's, and the parent's
    // Per child-only function: the frames of its site in each child's dump.
    std::map<std::string, std::set<std::string>> chains;
    int children = 0;
    for (const std::string& dump : dumps) {
      // Every frame, down to the program's entry (the report's default
      // stops at main).
      const CommandResult r = Leaktrace({"report", "--full-stacks", "--format", "json", dump});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const nlohmann::json report = nlohmann::json::parse(r.out);
      bool is_child = false;
      for (const auto& site : report.value("sites", nlohmann::json::array())) {
        if (site.value("resource", "") != "fd") continue;
        std::vector<std::string> functions;
        for (const auto& frame : site["frames"]) functions.push_back(frame.value("function", ""));
        for (const char* leaf : {"series_child_opens", "series_child_copies"}) {
          const auto at = std::find(functions.begin(), functions.end(), leaf);
          if (at == functions.end()) continue;
          is_child = true;
          EXPECT_EQ(site.value("count", 0.0), 1) << dump << " " << leaf;
          // The whole chain: through the scenario and main to the entry.
          const auto scenario = std::find(at, functions.end(), "fork_series");
          EXPECT_NE(scenario, functions.end()) << dump << " " << leaf << ": " << site["frames"].dump();
          EXPECT_NE(std::find(scenario, functions.end(), "main"), functions.end()) << dump << " " << leaf;
          EXPECT_EQ(functions.back(), "_start") << dump << " " << leaf << ": " << site["frames"].dump();
          chains[leaf].insert(site["frames"].dump());
        }
      }
      children += is_child ? 1 : 0;
    }
    EXPECT_EQ(children, kChildren);
    for (const char* leaf : {"series_child_opens", "series_child_copies"}) {
      EXPECT_EQ(chains[leaf].size(), 1u) << leaf << ": the children's chains differ";
    }
  }
}

// A vfork child runs on the parent's memory and thread state: its close and
// dup2 must not be booked to the parent, and once it is gone the parent's
// own calls are tracked again (the vfork entry's flag is settled).
TEST(FdScenarios, AVforkChildsCallsAreNotTheParents) {
  TempDir dir;
  const CommandResult run =
      testing::Run({ProgramPath("fd_scenarios"), "vfork"}, {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<std::string> dumps = DumpsIn(dir.path());
  ASSERT_EQ(dumps.size(), 1u);  // the child left by _exit: no dump of its own
  const nlohmann::json report = ReportJson(dumps[0]);
  EXPECT_EQ(GrowthAt(report, "open_before_fork", "fd_scenarios", "fd").count, 4);
  EXPECT_EQ(GrowthAt(report, "parent_opens_after_vfork", "fd_scenarios", "fd").count, 2);
  EXPECT_EQ(Total(report, "fd").count, 4 + 2) << report.dump(1).substr(0, 3000);
}

TEST(FdScenarios, NothingCarriesOverExec) {
  TempDir dir;
  const CommandResult run =
      testing::Run({ProgramPath("fd_scenarios"), "exec"}, {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<std::string> dumps = DumpsIn(dir.path());
  ASSERT_EQ(dumps.size(), 1u);  // the new image's exit dump; the old image wrote none
  const nlohmann::json report = ReportJson(dumps[0]);
  EXPECT_EQ(Total(report, "fd").count, 0) << report.dump(1).substr(0, 3000);
  EXPECT_EQ(Total(report, "mmap").count, 0);
}

// ---- the example TCP server over loopback ------------------------------------

// One request: connect, send a line, read the one-line answer; on "bye" the
// server closes, and we wait for that so the snapshot after sees it.
std::string Request(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && write(fd, "hi\n", 3) == 3) {
    char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      answer.append(buf, static_cast<size_t>(n));
      if (answer == "keep\n") break;  // the server keeps this one open: no EOF coming
    }
  }
  close(fd);
  return answer;
}

TEST(FdExample, TcpServerLeakingOneAcceptedSocketPerNConnections) {
  TempDir dir;
  const std::string port_file = dir.path() + "/port";
  constexpr int kLeakEvery = 7;
  constexpr int kConnections = 70;
  TrackedProgram server({LEAKTRACE_TEST_TCP_SERVER, "0", std::to_string(kLeakEvery), port_file}, dir.path());
  server.ExpectCheckpoint("listening on 127.0.0.1:" + [&] {
    for (int i = 0; i < 500 && !std::filesystem::exists(port_file); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in(port_file);
    std::string port;
    in >> port;
    return port;
  }());
  int port = 0;
  std::ifstream(port_file) >> port;
  ASSERT_GT(port, 0);
  Request(port);  // warm up: first-use allocations and stacks
  const std::string before = server.Snapshot();
  int kept = 0;
  for (int i = 0; i < kConnections; ++i) {
    const std::string answer = Request(port);
    ASSERT_TRUE(answer == "bye\n" || answer == "keep\n") << answer;
    kept += answer == "keep\n";
  }
  const std::string after = server.Snapshot();
  ASSERT_EQ(kept, kConnections / kLeakEvery);

  const nlohmann::json diff = DiffJson(before, after);
  const Growth leaked = GrowthAt(diff, "accept_client", "leaky_tcp_server", "fd");
  EXPECT_EQ(leaked.count, kConnections / kLeakEvery);
  EXPECT_EQ(leaked.sites, 1);
  EXPECT_EQ(LabelsAt(diff, "accept_client", "leaky_tcp_server", "fd"),
            (std::map<std::string, double>{{"socket inet/stream", kConnections / kLeakEvery}}));
  EXPECT_EQ(Total(diff, "fd").count, kConnections / kLeakEvery);
  // The leak is the first fd site of the text diff, named by its function.
  const CommandResult text = Leaktrace({"diff", before, after});
  EXPECT_NE(text.out.find("accept_client"), std::string::npos) << text.out;
  // And the CI gate catches it.
  EXPECT_EQ(Leaktrace({"check", "--max-bytes", "1g", "--max-fds", "0", before, after}).exit_code, 1);
  EXPECT_EQ(Leaktrace({"check", "--max-bytes", "1g", "--max-fds", std::to_string(kConnections / kLeakEvery), before,
                       after})
                .exit_code,
            0);
}

// Descriptors no hook saw made (io_uring's accept and openat, raw system
// calls): /proc/PID/fd grew while the diff read "fd 0" and `check
// --max-fds 0` passed. From the second snapshot on they are found in
// /proc/self/fd and booked at a stack with no frame, labelled by kind; the
// ones open at the first look (inherited) are counted nowhere.
TEST(FdMmapExact, DescriptorsNoHookSawMadeAreCountedFromTheSecondSnapshot) {
  TempDir dir;
  TrackedProgram p({ProgramPath("unseen_fds")}, dir.path());
  p.ExpectCheckpoint("before");
  const std::string before = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("after");
  const std::string after = p.Snapshot();
  p.Continue();
  p.ExpectCheckpoint("closed");
  const std::string closed = p.Snapshot();
  p.Continue();
  EXPECT_EQ(p.Wait(), 0);

  const nlohmann::json first = nlohmann::json::parse(Leaktrace({"report", "--format", "json", before}).out);
  EXPECT_EQ(first["summary"]["fd"]["count"], 0) << "stdin, stdout and stderr are inherited";
  const nlohmann::json grown = DiffJson(before, after);
  std::map<std::string, double> labels;
  for (const auto& site : grown["sites"])
    if (site["resource"] == "fd") {
      EXPECT_TRUE(site["frames"].empty()) << site.dump();
      labels[site.value("label", "")] += site.value("count", 0.0);
    }
  EXPECT_EQ(labels["not seen made: eventfd"], 6) << grown["sites"].dump();
  EXPECT_EQ(labels["not seen made: socket unix/stream"], 6) << grown["sites"].dump();
  const CommandResult check = Leaktrace({"check", "--max-fds", "0", before, after});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  // Closed by raw system calls too (syscall(SYS_close) reaches the close
  // hook): gone again.
  const nlohmann::json shrunk = DiffJson(before, closed);
  double fds = 0;
  for (const auto& site : shrunk["sites"])
    if (site["resource"] == "fd") fds += site.value("count", 0.0);
  EXPECT_EQ(fds, 0) << shrunk["sites"].dump();
}

}  // namespace
}  // namespace leaktrace::testing
