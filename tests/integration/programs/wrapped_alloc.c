/* Allocations through allocator wrappers (issue 14): create_object leaks
   through zmalloc (on leaktrace's built-in list), make_buffer through
   app_alloc (not on it: --alloc-fn app_alloc strips it), and churn
   allocates and frees everything (a site with nothing live). Runs to exit;
   the exit snapshot holds it all. */
#include <stdlib.h>
#include <string.h>

static void* volatile kept[200];
static void* volatile scratch;

__attribute__((noinline)) void* zmalloc(size_t n) {
  void* p = malloc(n);
  if (!p) abort();
  return p;
}

__attribute__((noinline)) void* app_alloc(size_t n) {
  void* p = malloc(n);
  if (!p) abort();
  memset(p, 0, 8);
  return p;
}

__attribute__((noinline)) void create_object(int i) { kept[i] = zmalloc(1000); }
__attribute__((noinline)) void make_buffer(int i) { kept[100 + i] = app_alloc(2000); }

__attribute__((noinline)) void churn(void) {
  for (int i = 0; i < 1000; ++i) {
    scratch = malloc(150);
    memset(scratch, 1, 8);
    free(scratch);
  }
}

int main(void) {
  for (int i = 0; i < 100; ++i) create_object(i);
  for (int i = 0; i < 50; ++i) make_buffer(i);
  churn();
  return 0;
}
