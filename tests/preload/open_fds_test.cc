// The program's descriptors as `leaktrace attach` lists them
// (preload/resources/open_fds.h): never one of leaktrace's own, not even one
// another thread is making at that moment (still at its low number).
#include "preload/resources/open_fds.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "preload/internal/private_fds.h"

namespace leaktrace::preload {
namespace {

std::vector<int> Listed(int tries) {
  std::vector<int> numbers(4096);
  const long n = ListProgramFds(numbers.data(), static_cast<long>(numbers.size()), tries);
  EXPECT_GE(n, 0);
  numbers.resize(static_cast<size_t>(std::max(n, 0L)));
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

// While another thread makes and drops private descriptors every 100 us
// (as program threads make the spare and libunwind's pipe at their first
// captures, right after an attach), every listing is what the program has
// open. A single reading taken as it is (what attach did) held one of them,
// at the lowest free number, in a few of 2,000 listings.
TEST(OpenFds, AListingNeverHoldsADescriptorLeaktraceIsMaking) {
  const std::vector<int> program = Listed(1000);
  std::atomic<bool> stop{false};
  std::thread maker([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const int fd = OpenPrivateFd("/dev/null", O_RDONLY, 0, nullptr);
      if (fd >= 0) ClosePrivateFd(fd);
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  int wrong = 0;
  for (int i = 0; i < 2000; ++i)
    if (Listed(1000) != program) ++wrong;
  stop.store(true);
  maker.join();
  EXPECT_EQ(wrong, 0) << "listings holding a descriptor of leaktrace's";
}

}  // namespace
}  // namespace leaktrace::preload
