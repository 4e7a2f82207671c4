// The thread table (preload/resources/thread_table.h): where the memory
// section finds the stacks of a process that may not read its threads'
// stack pointers (one that dropped privileges).
#include "preload/resources/thread_table.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <semaphore.h>

#include <vector>

namespace leaktrace::preload {
namespace {

sem_t g_go;

void* WaitForGo(void*) {
  sem_wait(&g_go);
  return nullptr;
}

// A thread created but not yet scheduled (a busy machine, a snapshot right
// after pthread_create returned) has not run its trampoline, so it has noted
// no address of its own: its stack was then not found (threads_unlocated 1,
// its stack in "unexplained": Memory.ADaemonThatDroppedPrivileges... under
// load). Its creator's ThreadCreated notes one already.
TEST(ThreadTable, AThreadNotYetStartedHasAnAddressInItsStack) {
  ASSERT_EQ(sem_init(&g_go, 0, 0), 0);
  void* token = ThreadReserve(1, nullptr, WaitForGo, nullptr);
  ASSERT_NE(token, nullptr);
  // Not through ThreadTrampoline: for the table, this thread never started.
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, nullptr, WaitForGo, nullptr), 0);
  ThreadCreated(token, 0, thread);

  std::vector<uintptr_t> addresses;
  ForEachRunningThreadStack([](uintptr_t a, void* ctx) { static_cast<std::vector<uintptr_t>*>(ctx)->push_back(a); },
                            &addresses);
  pthread_attr_t attr;
  ASSERT_EQ(pthread_getattr_np(thread, &attr), 0);
  void* stack = nullptr;
  size_t size = 0;
  ASSERT_EQ(pthread_attr_getstack(&attr, &stack, &size), 0);
  pthread_attr_destroy(&attr);
  const auto lo = reinterpret_cast<uintptr_t>(stack);
  ASSERT_EQ(addresses.size(), 1u) << "the created thread's stack was not found";
  EXPECT_GE(addresses[0], lo);
  EXPECT_LT(addresses[0], lo + size + 4096) << "not in the thread's stack mapping";

  sem_post(&g_go);
  pthread_join(thread, nullptr);
}

}  // namespace
}  // namespace leaktrace::preload
