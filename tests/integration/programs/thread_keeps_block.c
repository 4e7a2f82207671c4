// A thread that allocates a block and keeps it: at exit the block is live,
// allocated on a thread the program started (its stack runs through
// leaktrace's thread start). Prints "ok".
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void* volatile g_kept;

__attribute__((noinline)) void* KeepBlockInThread(void* arg) {
  (void)arg;
  g_kept = malloc(4096);
  memset(g_kept, 1, 4096);
  return NULL;
}

int main(void) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, KeepBlockInThread, NULL) != 0 || pthread_join(thread, NULL) != 0) return 1;
  puts("ok");
  return 0;
}
