// Another library preloaded in front of libleaktrace.so: an allocator there
// (jemalloc) takes every malloc call, so leaktrace sees no heap at all and
// must say so instead of writing dumps that read 0 B of heap as if measured;
// an interposer there that forwards (dlsym(RTLD_NEXT, "malloc")) still
// reaches the hooks, and nothing is said.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "tests/integration/harness.h"

namespace leaktrace::testing {
namespace {

constexpr const char* kNotTracked = "the heap is not tracked";

CommandResult RunWithPreload(const std::string& preload, const std::string& sample, const TempDir& dir) {
  return Run({ProgramPath("usable_growth")},
             {"LD_PRELOAD=" + preload, "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=" + sample});
}

double LiveHeap(const TempDir& dir) {
  std::string dump;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) dump = e.path().string();
  EXPECT_FALSE(dump.empty()) << "no exit dump";
  const CommandResult report = Leaktrace({"report", "--format", "json", dump});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  return nlohmann::json::parse(report.out)["summary"]["heap"]["bytes"].get<double>();
}

// A program that defines malloc itself: its report says so, rather than
// show 0 B of heap as if measured; with LEAKTRACE_VERBOSE (leaktrace run)
// its stderr says so at start. Before: "loaded ahead of libleaktrace.so in
// LD_PRELOAD ... list libleaktrace.so first", an order that cannot help,
// on the stderr of every process (chromium's every one).
TEST(PreloadOrder, AProgramsOwnMallocIsSaidToBeItsOwn) {
  for (const std::string verbose : {"0", "1"}) {
    SCOPED_TRACE("LEAKTRACE_VERBOSE=" + verbose);
    TempDir dir;
    const CommandResult r = leaktrace::testing::Run(
        {ProgramPath("own_malloc")},
        {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_VERBOSE=" + verbose});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    const bool said =
        r.err.find("leaktrace: malloc is the program's own (own_malloc defines it): the heap is not tracked") !=
        std::string::npos;
    EXPECT_EQ(said, verbose == "1") << r.err;
    EXPECT_EQ(r.err.find("loaded ahead of"), std::string::npos) << r.err;
    std::string dump;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) dump = e.path().string();
    const CommandResult report = Leaktrace({"report", dump});
    EXPECT_EQ(report.exit_code, 0) << report.err;
    EXPECT_NE(report.out.find("heap not tracked in own_malloc: malloc is the program's own; its heap reads 0 B"),
              std::string::npos)
        << report.out;
  }
}

TEST(PreloadOrder, AnAllocatorAheadOfLeaktraceIsSaidNotSilentlyZero) {
  for (const std::string sample : {"512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir ahead;
    const CommandResult r = RunWithPreload(std::string(LEAKTRACE_TEST_JEMALLOC) + ":" + LibraryPath(), sample, ahead);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_NE(r.err.find(std::string("malloc is libjemalloc.so.2's, loaded ahead of libleaktrace.so")),
              std::string::npos)
        << r.err;
    EXPECT_EQ(LiveHeap(ahead), 0) << "jemalloc in front: leaktrace's hooks never ran";
    std::string dump;
    for (const auto& e : std::filesystem::directory_iterator(ahead.path())) dump = e.path().string();
    const CommandResult report = Leaktrace({"report", dump});
    EXPECT_NE(report.out.find(": an allocator ahead of libleaktrace.so in LD_PRELOAD takes every malloc"),
              std::string::npos)
        << report.out;

    TempDir behind;  // the documented order: tracked, nothing said
    const CommandResult b = RunWithPreload(LibraryPath() + ":" + LEAKTRACE_TEST_JEMALLOC, sample, behind);
    EXPECT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(b.err.find(kNotTracked), std::string::npos) << b.err;
    EXPECT_GT(LiveHeap(behind), 10e6) << "5000 buffers of 7000 bytes kept";
  }
}

// A program with a canonical PLT entry for malloc (Debian's python3 and
// node: not PIE, malloc's address taken) and jemalloc ahead of the library:
// dlsym(RTLD_DEFAULT, "malloc") answers the program's own stub, and the
// report said "malloc is the program's own", for advice that cannot help;
// the stub leads to jemalloc, which listing libleaktrace.so first fixes.
TEST(PreloadOrder, AnAllocatorAheadOfAProgramWithACanonicalPltIsNamed) {
  TempDir dir;
  // Its two checkpoints answered at once (the harness's own runs put the
  // library first in LD_PRELOAD).
  const CommandResult r =
      leaktrace::testing::Run({"/bin/sh", "-c", "printf '\\n\\n' | exec \"$0\"", ProgramPath("canonical_plt")},
          {"LD_PRELOAD=" + std::string(LEAKTRACE_TEST_JEMALLOC) + ":" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ready\nafter\n");
  std::string dump;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().filename().string().rfind("canonical_plt.", 0) == 0) dump = e.path().string();
  ASSERT_FALSE(dump.empty()) << "no exit dump";
  const CommandResult report = Leaktrace({"report", dump});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("heap not tracked in canonical_plt: an allocator ahead of libleaktrace.so in LD_PRELOAD"),
            std::string::npos)
      << report.out;
}

// Two copies of the library in LD_PRELOAD (an installed one and a build, a
// copy under another name): both tracked, the second seeing every call the
// first passed on. Each counted the other's dumper thread as the
// program's, one took the other's snapshot handler for the program's and
// moved to another signal, and one process wrote two exit dumps. Now the
// copy a first one is ahead of stays out.
TEST(PreloadOrder, ASecondCopyOfTheLibraryStaysOut) {
  TempDir dir, elsewhere;
  const std::string copy = elsewhere.path() + "/other-copy.so";
  std::filesystem::copy_file(LibraryPath(), copy);
  const CommandResult r = leaktrace::testing::Run(
      {"/bin/sleep", "0.3"},
      {"LD_PRELOAD=" + LibraryPath() + ":" + copy, "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_VERBOSE=1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("installs its own handler"), std::string::npos) << r.err;
  std::vector<std::string> dumps;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) dumps.push_back(e.path().string());
  ASSERT_EQ(dumps.size(), 1u) << "one exit dump for one process";
  const CommandResult report = Leaktrace({"report", "--format", "json", dumps[0]});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_EQ(nlohmann::json::parse(report.out)["memory"]["threads"], 1) << "the other copy's thread counted";
}

// jemalloc ahead maps the extent of a big block while it holds a lock of
// its own, and leaktrace records the mapping with its stack; a thread's
// first capture used to ask glibc for the thread's stack
// (pthread_getattr_np), which reallocs: into jemalloc, onto the lock its
// caller held. Every run of four threads allocating 1-8 MiB blocks hung.
TEST(PreloadOrder, AnAllocatorAheadMappingUnderItsLockDoesNotHang) {
  for (const std::string sample : {"512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    const CommandResult r =
        leaktrace::testing::Run({"/usr/bin/timeout", "30", ProgramPath("big_block_threads")},
            {std::string("LD_PRELOAD=") + LEAKTRACE_TEST_JEMALLOC + ":" + LibraryPath(), "LEAKTRACE_DIR=" + dir.path(),
             "LEAKTRACE_SAMPLE=" + sample});
    EXPECT_EQ(r.exit_code, 0) << "124: it hung. " << r.err;
    EXPECT_EQ(r.out.rfind("ok ", 0), 0u) << r.out;
  }
}

TEST(PreloadOrder, AForwardingInterposerAheadStillReachesTheHooks) {
  for (const std::string sample : {"512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    const CommandResult r =
        RunWithPreload(std::string(LEAKTRACE_TEST_PROGRAM_DIR) + "/libforwarding_malloc.so:" + LibraryPath(), sample, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_EQ(r.err.find(kNotTracked), std::string::npos) << r.err;
    EXPECT_GT(LiveHeap(dir), 10e6) << "5000 buffers of 7000 bytes kept";
  }
}

// The textbook pass-through counter, its next malloc and free resolved
// lazily inside them, after the library (`LD_PRELOAD=libcounter.so
// leaktrace run -- PROGRAM`): leaktrace's start looked up jemalloc's
// mallocx behind it with dlsym, which, finding nothing, left its error
// message pending; the counter's first dlsym freed it through the
// counter's own free, which called dlsym, which freed it again: SIGSEGV
// before main, every run. leaktrace no longer asks dlsym for a name no
// module defines.
TEST(PreloadOrder, ALazyPassThroughInterposerAfterTheLibraryRuns) {
  for (const std::string sample : {"512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    const CommandResult r =
        RunWithPreload(LibraryPath() + ":" + std::string(LEAKTRACE_TEST_PROGRAM_DIR) + "/liblazy_counter.so", sample, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_GT(LiveHeap(dir), 10e6) << "5000 buffers of 7000 bytes kept";
  }
}

// An allocator after the library whose functions call one another through
// its own import slots, as Electric Fence's and DUMA's do (malloc calls
// memalign): those calls reached leaktrace's hooks from inside the
// allocator. In exact mode each added a header and called the allocator
// again (SIGSEGV, a stack overflow, every run); in sampled mode a sample
// taken inside the allocator's malloc handed it an offset block, which its
// free then refused ("address not from malloc()", abort). The allocator's
// calls of its own functions now go straight to it.
TEST(PreloadOrder, AnAllocatorThatCallsItsOwnFunctionsAfterTheLibraryRuns) {
  const std::string allocator = std::string(LEAKTRACE_TEST_PROGRAM_DIR) + "/libself_calling_malloc.so";
  for (const std::string sample : {"4096", "512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    const CommandResult r = RunWithPreload(LibraryPath() + ":" + allocator, sample, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    if (r.exit_code != 0) continue;
    // 5000 buffers of 7000 bytes kept, each counted once: exactly in exact
    // mode, within sampling's spread otherwise (a call counted twice, once
    // inside the allocator, would double it). At 512k the samples are a
    // binomial count of ~66 buffers of 528 KB each: above 60 MB with
    // probability 5e-8, above 80 MB with 8e-20, below 10 MB with 2e-12; a
    // double count still shows at 4096, where ~4,100 samples spread 0.7 %.
    const double live = LiveHeap(dir);
    const bool exact = sample == "1";
    EXPECT_GT(live, exact ? 34.9e6 : 10e6);
    EXPECT_LT(live, exact ? 35.2e6 : sample == "512k" ? 80e6 : 60e6);
  }
}

// The same with Electric Fence and DUMA themselves, where installed: a
// program that allocates enough to take samples runs as without leaktrace.
TEST(PreloadOrder, ElectricFenceAndDumaAfterTheLibraryRun) {
  int ran = 0;
  for (const std::string allocator : {"/usr/lib/libefence.so.0", "/usr/lib/libduma.so.0"}) {
    if (access(allocator.c_str(), R_OK) != 0) continue;
    ++ran;
    for (const std::string sample : {"4096", "512k", "1"}) {
      SCOPED_TRACE(allocator + ", LEAKTRACE_SAMPLE=" + sample);
      TempDir dir;
      const CommandResult r = leaktrace::testing::Run(
          {ProgramPath("malloc_loop")},
          {"LD_PRELOAD=" + LibraryPath() + ":" + allocator, "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=" + sample});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, "ok\n");
    }
  }
  if (ran == 0) GTEST_SKIP() << "neither Electric Fence nor DUMA is installed";
}

// glibc's malloc checking, preloaded after the library (`MALLOC_CHECK_=3
// LD_PRELOAD=libc_malloc_debug.so.0 leaktrace run -- PROGRAM`): its malloc
// family is defined at libc's versions, none the default, so a lookup by
// name passed it over for libc's, and an overflow it aborts on plainly
// went unseen ("survived", exit 0). The family is now looked up at those
// versions when it is loaded.
TEST(PreloadOrder, GlibcsMallocCheckingAfterTheLibraryStillChecks) {
  const std::string debug = "/lib/x86_64-linux-gnu/libc_malloc_debug.so.0";
  if (access(debug.c_str(), R_OK) != 0) GTEST_SKIP() << "no " << debug;
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("heap_overflow")}, {"MALLOC_CHECK_=3", "LD_PRELOAD=" + debug});
  ASSERT_EQ(plain.exit_code, 128 + SIGABRT) << plain.out << plain.err;
  for (const std::string sample : {"512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    const CommandResult r = leaktrace::testing::Run({ProgramPath("heap_overflow")},
                                {"MALLOC_CHECK_=3", "LD_PRELOAD=" + LibraryPath() + ":" + debug,
                                 "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=" + sample});
    EXPECT_EQ(r.exit_code, 128 + SIGABRT) << r.out << r.err;
    EXPECT_EQ(r.out, "");
  }
}

// An allocator after the library that has no malloc_usable_size of its
// own (glibc's libmemusage, the `memusage` tool's; Electric Fence): glibc's
// ran on its blocks, read garbage, and leaktrace sized each sampled block
// by it: memusage counted 350 GB allocated by a loop of 49 MB, and a
// program grew to 11 GB. Sizes it was asked for now stand in.
TEST(PreloadOrder, AnAllocatorWithoutItsOwnUsableSizeIsNotMeasuredByGlibcs) {
  const std::string memusage = "/lib/x86_64-linux-gnu/libmemusage.so";
  if (access(memusage.c_str(), R_OK) != 0) GTEST_SKIP() << "no " << memusage;
  auto heap_total = [](const std::string& err) {
    const size_t at = err.find("heap total: ");
    return at == std::string::npos ? -1.0 : std::stod(err.substr(at + 12));
  };
  const CommandResult plain = leaktrace::testing::Run({ProgramPath("malloc_loop")}, {"LD_PRELOAD=" + memusage});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const double plain_total = heap_total(plain.err);
  ASSERT_GT(plain_total, 0) << plain.err;
  for (const std::string sample : {"4096", "512k", "1"}) {
    SCOPED_TRACE("LEAKTRACE_SAMPLE=" + sample);
    TempDir dir;
    const CommandResult r = leaktrace::testing::Run(
        {"/bin/sh", "-c", "ulimit -v 2000000 && exec \"$0\"", ProgramPath("malloc_loop")},
        {"LD_PRELOAD=" + LibraryPath() + ":" + memusage, "LEAKTRACE_DIR=" + dir.path(), "LEAKTRACE_SAMPLE=" + sample});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_LT(heap_total(r.err), 3 * plain_total) << r.err;
  }
}

// The check that malloc reaches the hooks must never cry wolf. It watches
// the sampler's countdown; a probe that happened to be a sample drew a new
// countdown, which by chance could equal the old one, and was then taken
// for a call that never came: ~1 process in 100 at LEAKTRACE_SAMPLE=64
// (python3 starts dozens). 600 process starts: before, nearly surely one
// false alarm (the chance of none was under 1 %).
TEST(PreloadOrder, ManyProcessStartsRaiseNoFalseAlarm) {
  const CommandResult r = leaktrace::testing::Run({"/bin/sh", "-c", "i=0; while [ $i -lt 600 ]; do /bin/true; i=$((i+1)); done"},
                              {"LD_PRELOAD=" + LibraryPath(), "LEAKTRACE_SAMPLE=64", "LEAKTRACE_ON_EXIT=0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(kNotTracked), std::string::npos) << r.err;
}

}  // namespace
}  // namespace leaktrace::testing
