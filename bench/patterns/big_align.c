/* Page- and 64 KiB-aligned blocks from posix_memalign (I/O buffers, arenas):
   big_align COUNT. Sizes 1-64 KiB, alignments 4096 and 65536 in turn, a
   working set of 64 live blocks. */
#include "pattern.h"

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 200000);
  void* live[64] = {0};
  unsigned long long state = 0x9E3779B97F4A7C15ULL;
  const double start = pattern_now();
  for (long i = 0; i < count; ++i) {
    const unsigned long long x = pattern_random(&state);
    const size_t slot = x % 64, size = 1024 + (x >> 8) % (63 << 10);
    free(live[slot]);
    void* p;
    if (posix_memalign(&p, (i & 1) ? 65536 : 4096, size) != 0) pattern_die("posix_memalign");
    ((char*)p)[0] = 1;
    live[slot] = p;
  }
  for (int i = 0; i < 64; ++i) free(live[i]);
  pattern_report(start);
  return 0;
}
