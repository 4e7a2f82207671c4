// Does a snapshot stall the program? Run under the library in exact mode:
// builds up --live live allocations (default 1,000,000) over 2^--stack-bits
// distinct call stacks (real ones: each allocation descends a binary tree of
// two functions), then one thread times malloc+free pairs back to back while
// the main thread asks for --snapshots snapshots with SIGUSR2, one at a time,
// waiting for each dump file to appear in LEAKTRACE_DIR.
//
// Prints one line per window, as tab-separated key=value pairs:
//   window=quiet       the same length of time with no snapshot (baseline)
//   window=snapshot    while one snapshot was being written
// with the window's length (ms), the number of malloc+free pairs timed, and
// the longest single pair (us): a stall of the program is a long pair.
//
// usage: LD_PRELOAD=libleaktrace.so LEAKTRACE_SAMPLE=1 LEAKTRACE_DIR=DIR
//          snapshot_stall [--live N] [--stack-bits B] [--snapshots K]
#include <dirent.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  long live = 1000000;
  int stack_bits = 13;
  int snapshots = 5;
};

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

void* volatile g_sink;

// Two functions, chosen by the bits of `path` level by level: 2^bits
// distinct call chains, each a real stack the unwinder walks.
__attribute__((noinline)) void* Left(unsigned path, int level);
__attribute__((noinline)) void* Right(unsigned path, int level);

__attribute__((noinline)) void* Descend(unsigned path, int level) {
  if (level == 0) return std::malloc(32);
  void* p = (path & 1) ? Right(path >> 1, level - 1) : Left(path >> 1, level - 1);
  g_sink = p;  // keeps the calls from becoming tail calls
  return p;
}
void* Left(unsigned path, int level) {
  void* p = Descend(path, level);
  g_sink = p;
  return p;
}
void* Right(unsigned path, int level) {
  void* p = Descend(path, level);
  g_sink = p;
  return p;
}

long CountDumps(const char* dir) {
  DIR* d = opendir(dir);
  if (d == nullptr) return -1;
  long n = 0;
  while (dirent* e = readdir(d)) {
    const size_t len = strlen(e->d_name);
    if (e->d_name[0] != '.' && len > 5 && strcmp(e->d_name + len - 5, ".dump") == 0) ++n;
  }
  closedir(d);
  return n;
}

// The timing thread's record of one window.
struct Window {
  std::atomic<uint64_t> pairs{0};
  std::atomic<uint64_t> longest_ns{0};
};

std::atomic<Window*> g_window{nullptr};
std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_iterations{0};

// Closes the current window once the timing thread has finished the pair it
// was in (a stall caused by the snapshot ends inside the window it belongs to).
void CloseWindow() {
  g_window.store(nullptr, std::memory_order_release);
  const uint64_t seen = g_iterations.load(std::memory_order_acquire), start = NowNs();
  while (g_iterations.load(std::memory_order_acquire) < seen + 2 && NowNs() - start < 1000000000ull) usleep(50);
}

void TimePairs() {
  while (!g_stop.load(std::memory_order_relaxed)) {
    Window* w = g_window.load(std::memory_order_acquire);
    const uint64_t start = NowNs();
    void* p = std::malloc(64);
    g_sink = p;
    std::free(p);
    const uint64_t took = NowNs() - start;
    if (w == nullptr) {
      g_iterations.fetch_add(1, std::memory_order_release);
      continue;
    }
    w->pairs.fetch_add(1, std::memory_order_relaxed);
    if (took > w->longest_ns.load(std::memory_order_relaxed)) w->longest_ns.store(took, std::memory_order_relaxed);
    g_iterations.fetch_add(1, std::memory_order_release);
  }
}

void Report(const char* name, int index, uint64_t ns, const Window& w) {
  printf("window=%s\tindex=%d\tms=%.1f\tpairs=%llu\tlongest_us=%.1f\n", name, index, ns / 1e6,
         static_cast<unsigned long long>(w.pairs.load()), w.longest_ns.load() / 1e3);
  fflush(stdout);
}

int Usage() {
  fprintf(stderr, "usage: snapshot_stall [--live N] [--stack-bits B (0-20)] [--snapshots K]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return Usage();
    const std::string flag = argv[i];
    const long value = strtol(argv[++i], nullptr, 10);
    if (flag == "--live" && value > 0) o.live = value;
    else if (flag == "--stack-bits" && value >= 0 && value <= 20) o.stack_bits = static_cast<int>(value);
    else if (flag == "--snapshots" && value > 0) o.snapshots = static_cast<int>(value);
    else return Usage();
  }
  const char* dir = getenv("LEAKTRACE_DIR");
  if (dir == nullptr || CountDumps(dir) < 0) {
    fprintf(stderr, "snapshot_stall: set LEAKTRACE_DIR to a readable directory\n");
    return 2;
  }

  std::vector<void*> blocks(static_cast<size_t>(o.live));
  const unsigned paths = 1u << o.stack_bits;
  for (long i = 0; i < o.live; ++i) blocks[static_cast<size_t>(i)] = Descend(static_cast<unsigned>(i) % paths, o.stack_bits);
  printf("live=%ld\tstacks=%u\n", o.live, paths);

  // Windows outlive the loop: the timing thread may finish a pair late.
  auto windows = std::make_unique<Window[]>(2 * static_cast<size_t>(o.snapshots));
  std::thread timer(TimePairs);
  for (int k = 0; k < o.snapshots; ++k) {
    // A snapshot's window: from the request until its dump is in place.
    Window& during = windows[2 * static_cast<size_t>(k)];
    const long before = CountDumps(dir);
    const uint64_t start = NowNs();
    g_window.store(&during, std::memory_order_release);
    kill(getpid(), SIGUSR2);
    while (CountDumps(dir) == before && NowNs() - start < 60000000000ull) usleep(200);
    const uint64_t took = NowNs() - start;
    CloseWindow();
    Report("snapshot", k, took, during);
    if (CountDumps(dir) == before) {
      fprintf(stderr, "snapshot_stall: no dump appeared within 60 s (is the library preloaded?)\n");
      g_stop = true;
      timer.join();
      return 1;
    }

    // A quiet window of the same length.
    Window& quiet = windows[2 * static_cast<size_t>(k) + 1];
    const uint64_t quiet_start = NowNs();
    g_window.store(&quiet, std::memory_order_release);
    while (NowNs() - quiet_start < took) usleep(200);
    const uint64_t quiet_took = NowNs() - quiet_start;
    CloseWindow();
    Report("quiet", k, quiet_took, quiet);
  }
  g_stop = true;
  timer.join();
  for (void* p : blocks) std::free(p);
  return 0;
}
