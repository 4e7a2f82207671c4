/* Anonymous mappings made, touched and unmapped over and over (a runtime
   managing its own memory): mmap_churn COUNT KIB. Each mapping is a resource
   leaktrace records, each munmap one it forgets. */
#include <sys/mman.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 100000);
  const size_t size = (size_t)pattern_arg(argc, argv, 2, 64) << 10;
  const double start = pattern_now();
  for (long i = 0; i < count; ++i) {
    char* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) pattern_die("mmap");
    p[0] = 1;
    munmap(p, size);
  }
  pattern_report(start);
  return 0;
}
