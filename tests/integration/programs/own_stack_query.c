// Threads whose first allocation is made inside pthread_getattr_np on
// themselves, as a JVM's threads do when they start (HotSpot's
// Thread::record_stack_base_and_size): glibc holds the thread's lock while it
// allocates the CPU set it copies into the attributes. Prints "ok" when every
// thread found its stack; an alarm ends a program that hangs.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { kThreads = 8 };

static void* QueryOwnStack(void* arg) {
  (void)arg;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return (void*)1;
  void* low = NULL;
  size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  const uintptr_t here = (uintptr_t)&attr;
  if (rc != 0 || here < (uintptr_t)low || here >= (uintptr_t)low + size) return (void*)1;
  void* block = malloc(100);
  free(block);
  return NULL;
}

int main(void) {
  alarm(20);
  for (int i = 0; i < kThreads; ++i) {
    pthread_t thread;
    void* result = (void*)1;
    if (pthread_create(&thread, NULL, QueryOwnStack, NULL) != 0 || pthread_join(thread, &result) != 0 ||
        result != NULL) {
      puts("failed");
      return 1;
    }
  }
  puts("ok");
  return 0;
}
