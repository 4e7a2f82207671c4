// The mappings that hold given addresses (thread stacks for the memory
// section): PROCMAP_QUERY and the /proc/self/maps walk it falls back to on
// older kernels must find the very same mappings.
#include "preload/snapshot/stack_mappings.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

namespace leaktrace::preload {
namespace {

using Ranges = std::vector<std::pair<uintptr_t, uintptr_t>>;

bool Find(const std::vector<uintptr_t>& sorted, uintptr_t extra, MappingLookup how, Ranges* out) {
  return ForEachMappingHolding(
      sorted.data(), sorted.size(), extra, how,
      [](uintptr_t start, uintptr_t end, void* ctx) { static_cast<Ranges*>(ctx)->emplace_back(start, end); }, out);
}

// Threads parked on their own stacks, each publishing two addresses in it.
class ParkedThreads {
 public:
  explicit ParkedThreads(int n) : addresses_(2 * n) {
    for (int i = 0; i < n; ++i) {
      slots_.push_back(Slot{this, i});
      threads_.emplace_back();
    }
    for (int i = 0; i < n; ++i) EXPECT_EQ(pthread_create(&threads_[i], nullptr, Park, &slots_[i]), 0);
    while (ready_.load() < n) sched_yield();
  }
  ~ParkedThreads() {
    release_.store(true);
    for (pthread_t t : threads_) pthread_join(t, nullptr);
  }
  const std::vector<uintptr_t>& addresses() const { return addresses_; }

 private:
  struct Slot {
    ParkedThreads* self;
    int index;
  };
  static void* Park(void* arg) {
    auto* slot = static_cast<Slot*>(arg);
    volatile char deep[2048] = {};
    char local = 0;
    slot->self->addresses_[2 * slot->index] = reinterpret_cast<uintptr_t>(&local);
    slot->self->addresses_[2 * slot->index + 1] = reinterpret_cast<uintptr_t>(&deep[0]);
    slot->self->ready_.fetch_add(1);
    while (!slot->self->release_.load()) sched_yield();
    return nullptr;
  }
  std::vector<uintptr_t> addresses_;
  std::vector<Slot> slots_;
  std::vector<pthread_t> threads_;
  std::atomic<int> ready_{0};
  std::atomic<bool> release_{false};
};

TEST(StackMappings, QueryAndWalkFindTheSameMappings) {
  ParkedThreads threads(4);
  // Three pages with a hole in the middle: two mappings.
  auto* region = static_cast<char*>(mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(region, MAP_FAILED);
  ASSERT_EQ(munmap(region + 4096, 4096), 0);
  std::vector<uintptr_t> sorted = threads.addresses();
  sorted.push_back(reinterpret_cast<uintptr_t>(region + 100));
  sorted.push_back(reinterpret_cast<uintptr_t>(region + 4096 + 100));  // the hole: no mapping
  sorted.push_back(reinterpret_cast<uintptr_t>(region + 2 * 4096 + 100));
  sorted.push_back(4096);  // never mapped
  std::sort(sorted.begin(), sorted.end());
  char here = 0;
  const auto extra = reinterpret_cast<uintptr_t>(&here);  // this thread's stack

  Ranges walked;
  ASSERT_TRUE(Find(sorted, extra, MappingLookup::kWalk, &walked));
  // 4 thread stacks, this thread's, the two pieces of the region (which
  // may have merged with a neighbour): each once, ascending, disjoint.
  EXPECT_GE(walked.size(), 5u);
  EXPECT_LE(walked.size(), 7u);
  for (size_t i = 1; i < walked.size(); ++i) EXPECT_LE(walked[i - 1].second, walked[i].first);
  auto held = [&](uintptr_t a) {
    return std::count_if(walked.begin(), walked.end(), [&](const auto& r) { return a >= r.first && a < r.second; });
  };
  for (uintptr_t a : threads.addresses()) EXPECT_EQ(held(a), 1) << std::hex << a;
  EXPECT_EQ(held(extra), 1);
  EXPECT_EQ(held(reinterpret_cast<uintptr_t>(region + 4096 + 100)), 0);
  EXPECT_EQ(held(4096), 0);

  Ranges automatic;
  ASSERT_TRUE(Find(sorted, extra, MappingLookup::kAuto, &automatic));
  EXPECT_EQ(automatic, walked);

  Ranges queried;
  if (!Find(sorted, extra, MappingLookup::kQuery, &queried)) {
    ASSERT_TRUE(queried.empty());
    GTEST_SKIP() << "this kernel has no PROCMAP_QUERY (Linux 6.11): only the walk is in use";
  }
  EXPECT_EQ(queried, walked);
  munmap(region, 4096);
  munmap(region + 2 * 4096, 4096);
}

TEST(StackMappings, NoAddressesVisitNothing) {
  for (MappingLookup how : {MappingLookup::kWalk, MappingLookup::kAuto}) {
    Ranges found;
    EXPECT_TRUE(Find({}, 0, how, &found));
    EXPECT_TRUE(found.empty());
  }
}

}  // namespace
}  // namespace leaktrace::preload
