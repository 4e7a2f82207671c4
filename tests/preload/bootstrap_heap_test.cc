// The bootstrap heap (preload/heap/bootstrap_heap.h): blocks for the
// allocations made before the real allocator is known, from a heap mapped
// at the first of them (not .bss: the library must span less than 2 MiB).
#include "preload/heap/bootstrap_heap.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

namespace leaktrace::preload {
namespace {

// One process-wide heap serves every test here, so each takes only what it
// needs (the heap is 1 MiB, one page or more a block).

TEST(BootstrapHeap, NothingIsABootstrapBlockBeforeTheFirstOne) {
  // The heap is mapped at the first allocation; until then no pointer is
  // one of its blocks, nullptr and low addresses included. (ctest runs each
  // test in a process of its own; a whole run of the binary runs this file's
  // tests in order, this one first.)
  int local = 0;
  void* heap_block = std::malloc(64);
  EXPECT_FALSE(IsBootstrapBlock(&local));
  EXPECT_FALSE(IsBootstrapBlock(heap_block));
  EXPECT_FALSE(IsBootstrapBlock(nullptr));
  std::free(heap_block);
}

TEST(BootstrapHeap, BlocksAreZeroedRecognisedAndKeepTheirSize) {
  for (size_t size : {size_t{1}, size_t{100}, size_t{4000}, size_t{9000}}) {
    auto* p = static_cast<unsigned char*>(BootstrapAlloc(size, 16));
    ASSERT_NE(p, nullptr) << size;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 64u) << "a block starts 64 bytes into a page";
    EXPECT_TRUE(IsBootstrapBlock(p));
    EXPECT_TRUE(IsBootstrapBlock(p + size - 1));
    EXPECT_EQ(BootstrapBlockSize(p), size);
    for (size_t i = 0; i < size; ++i) ASSERT_EQ(p[i], 0) << "byte " << i << " of " << size;
    p[size - 1] = 1;  // writable to its end
  }
  int local = 0;
  EXPECT_FALSE(IsBootstrapBlock(&local));
}

TEST(BootstrapHeap, RefusesWhatItCannotServe) {
  EXPECT_EQ(BootstrapAlloc(16, 128), nullptr) << "alignment above 64";
  EXPECT_EQ(BootstrapAlloc(size_t{2} << 20, 16), nullptr) << "more than the heap";
}

TEST(BootstrapHeap, ThreadsAllocatingAtOnceGetDistinctBlocksOfOneHeap) {
  constexpr int kThreads = 8;
  std::vector<void*> blocks(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back([&blocks, i] { blocks[i] = BootstrapAlloc(32, 16); });
  for (std::thread& t : threads) t.join();
  std::set<void*> distinct;
  for (void* p : blocks) {
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(IsBootstrapBlock(p));
    distinct.insert(p);
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace leaktrace::preload
