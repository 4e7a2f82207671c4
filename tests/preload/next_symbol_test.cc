// NextSymbols (preload/interpose/next_symbol.h) against dlsym(RTLD_NEXT):
// linked into this test program, "this library" is the executable, so the
// modules after it are every shared library, as for RTLD_NEXT from here.
#include "preload/interpose/next_symbol.h"

#include <dlfcn.h>

#include <gtest/gtest.h>

#include "preload/interpose/real_functions.h"

namespace leaktrace::preload {
namespace {

TEST(NextSymbols, AnswersWhatDlsymWouldForEveryRealFunction) {
  NextSymbols next;
  ASSERT_TRUE(next.Open());
  const char* names[] = {
#define LEAKTRACE_TEST_NAME(member, symbol, ...) symbol,
      LEAKTRACE_REAL_FUNCTIONS(LEAKTRACE_TEST_NAME)
#undef LEAKTRACE_TEST_NAME
      "vfork", "clone", "syscall"};
  int answered = 0;
  for (const char* name : names) {
    void* found = next.Find(name);
    if (found == nullptr) continue;  // left to dlsym: nothing to compare
    ++answered;
    EXPECT_EQ(found, dlsym(RTLD_NEXT, name)) << name;
  }
  // It stands in for dlsym for most of them (the rest are IFUNCs or absent).
  EXPECT_GT(answered, static_cast<int>(sizeof names / sizeof names[0]) * 3 / 4);
}

TEST(NextSymbols, TakesTheDefaultVersionOfAVersionedFunction) {
  NextSymbols next;
  ASSERT_TRUE(next.Open());
  // glibc 2.34 moved these into libc and gave them new default versions;
  // the old ones stay, hidden.
  for (const char* name : {"pthread_create", "dlopen", "dlsym", "pthread_join"})
    EXPECT_EQ(next.Find(name), dlsym(RTLD_NEXT, name)) << name;
}

TEST(NextSymbols, FindsNothingForANameNoModuleDefines) {
  NextSymbols next;
  ASSERT_TRUE(next.Open());
  EXPECT_EQ(next.Find("leaktrace_no_such_function_anywhere"), nullptr);
  EXPECT_EQ(next.Find("mallocx"), nullptr);  // jemalloc's, not glibc's
}

}  // namespace
}  // namespace leaktrace::preload
