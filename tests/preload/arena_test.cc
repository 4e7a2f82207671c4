// The preload library's own allocator: every size, small and large, gets
// memory of its own that holds what is written to it.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "preload/internal/arena.h"

namespace leaktrace::preload {
namespace {

TEST(Arena, EverySizeGetsDistinctWritableMemory) {
  Arena arena;
  std::vector<std::pair<unsigned char*, size_t>> blocks;
  for (size_t size = 1; size <= (size_t{3} << 20); size = size * 3 / 2 + 1) {
    auto* p = static_cast<unsigned char*>(arena.Allocate(size));
    ASSERT_NE(p, nullptr) << size;
    std::memset(p, static_cast<int>(blocks.size() & 0xff), size);
    blocks.emplace_back(p, size);
  }
  for (size_t i = 0; i < blocks.size(); ++i)
    for (size_t k = 0; k < blocks[i].second; k += 97)
      ASSERT_EQ(blocks[i].first[k], static_cast<unsigned char>(i & 0xff)) << "block " << i << " was overwritten";
  for (auto& [p, size] : blocks) arena.Deallocate(p, size);
  // Freed small blocks are reused.
  void* a = arena.Allocate(100);
  arena.Deallocate(a, 100);
  EXPECT_EQ(arena.Allocate(100), a);
}

}  // namespace
}  // namespace leaktrace::preload
