/* Linked into ctor_program: its constructor runs before the program's main,
   possibly before leaktrace's own constructor, allocates, and starts a thread
   that allocates. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void* volatile ctor_kept;
static pthread_t helper;

__attribute__((noinline)) static void* ctor_thread(void* arg) {
  (void)arg;
  for (int i = 0; i < 100; ++i) free(malloc(100));
  return strdup("from the constructor's thread");
}

__attribute__((noinline)) void ctor_allocate(void) { ctor_kept = malloc(4242); }

__attribute__((constructor)) static void early(void) {
  ctor_allocate();
  pthread_create(&helper, NULL, ctor_thread, NULL);
}

const char* ctor_thread_result(void) {
  void* result = NULL;
  pthread_join(helper, &result);
  return (const char*)result;
}
