// The allocation-heavy workload of the end-to-end overhead comparison:
// several threads churn mixed sizes (16-1024 B) at varied call depths, with a
// working set of live blocks per thread so frees are not all immediate.
//
// usage: churn_workload [--threads N] [--ops-per-thread N] [--live N]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

struct Options {
  int threads = 4;
  long ops = 2000000;
  int live = 4096;
};

// Xorshift: cheap, deterministic per thread.
struct Rng {
  unsigned long long s;
  unsigned long long Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

void* volatile g_sink;

// Recurse to a varied depth before allocating, so stacks differ in depth and
// content the way a real service's do. Not inlined, not tail-called.
__attribute__((noinline)) void* AllocateAtDepth(int depth, size_t size) {
  if (depth <= 0) return std::malloc(size);
  void* p = AllocateAtDepth(depth - 1, size);
  g_sink = p;
  return p;
}

__attribute__((noinline)) void* AllocateA(int depth, size_t size) { return AllocateAtDepth(depth, size); }
__attribute__((noinline)) void* AllocateB(int depth, size_t size) { return AllocateAtDepth(depth + 3, size); }
__attribute__((noinline)) void* AllocateC(int depth, size_t size) { return AllocateAtDepth(depth + 7, size); }

void Churn(const Options& o, unsigned seed) {
  Rng rng{0x9E3779B97F4A7C15ULL ^ seed};
  std::vector<void*> slots(static_cast<size_t>(o.live), nullptr);
  for (long i = 0; i < o.ops; ++i) {
    const unsigned long long r = rng.Next();
    const size_t slot = r % slots.size();
    std::free(slots[slot]);
    const size_t size = 16 + (r >> 20) % 1009;
    const int depth = static_cast<int>((r >> 40) % 8);
    void* p;
    switch ((r >> 50) % 3) {
      case 0: p = AllocateA(depth, size); break;
      case 1: p = AllocateB(depth, size); break;
      default: p = AllocateC(depth, size); break;
    }
    static_cast<char*>(p)[0] = 1;
    slots[slot] = p;
  }
  for (void* p : slots) std::free(p);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    auto next = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "churn_workload: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--threads")) o.threads = std::atoi(next("--threads"));
    else if (!std::strcmp(argv[i], "--ops-per-thread")) o.ops = std::atol(next("--ops-per-thread"));
    else if (!std::strcmp(argv[i], "--live")) o.live = std::atoi(next("--live"));
    else {
      std::fprintf(stderr, "usage: churn_workload [--threads N] [--ops-per-thread N] [--live N]\n");
      return 2;
    }
  }
  if (o.threads < 1 || o.ops < 1 || o.live < 1) {
    std::fprintf(stderr, "churn_workload: values must be positive\n");
    return 2;
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) threads.emplace_back(Churn, std::cref(o), static_cast<unsigned>(t + 1));
  for (auto& t : threads) t.join();
  return 0;
}
