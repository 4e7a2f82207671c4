// The main thread's stack bounds read from what exec laid out: a part of the
// [stack] mapping, from its very top, holding the caller's frame.
#include "preload/record/main_stack.h"

#include <gtest/gtest.h>
#include <stdio.h>

#include <cstring>

namespace leaktrace::preload {
namespace {

// The [stack] line of /proc/self/maps.
bool StackMapping(uintptr_t* start, uintptr_t* end) {
  FILE* f = fopen("/proc/self/maps", "r");
  if (f == nullptr) return false;
  char line[512];
  bool found = false;
  while (!found && fgets(line, sizeof line, f) != nullptr) {
    unsigned long a, b;
    if (strstr(line, "[stack]") != nullptr && sscanf(line, "%lx-%lx", &a, &b) == 2) {
      *start = a;
      *end = b;
      found = true;
    }
  }
  fclose(f);
  return found;
}

TEST(MainStack, BoundsAreThePartOfTheStackMappingAboveTheFrame) {
  // The frame itself, never a sanitizer's stand-in for a local.
  const auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  uintptr_t low = 0, high = 0;
  ASSERT_TRUE(MainStackAroundExecFn(sp, &low, &high)) << "a test program exec'd by the kernel";
  uintptr_t start = 0, end = 0;
  ASSERT_TRUE(StackMapping(&start, &end));
  EXPECT_EQ(high, end) << "the mapping's top";
  EXPECT_GE(low, start) << "never below the mapping";
  EXPECT_LE(low + kMainStackSlack, sp) << "room for deeper calls below the frame";
  EXPECT_LT(sp, high);
}

TEST(MainStack, AFrameFarFromTheTopIsNotTheMainStacks) {
  uintptr_t low = 0, high = 0;
  const auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  // A coroutine's stack, say: far below the main stack's top.
  EXPECT_FALSE(MainStackAroundExecFn(sp - (64u << 20), &low, &high));
  EXPECT_EQ(low, 0u);
  EXPECT_EQ(high, 0u);
}

}  // namespace
}  // namespace leaktrace::preload
