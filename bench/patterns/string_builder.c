/* A string built by appending short pieces to a buffer whose capacity
   doubles when full (what std::string, Python's list and most string
   builders do): string_builder MIB REPEAT. Few reallocs, of large blocks. */
#include <string.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const size_t total = (size_t)pattern_arg(argc, argv, 1, 64) << 20;
  const long repeat = pattern_arg(argc, argv, 2, 8);
  static const char piece[] = "a piece of text, forty-eight bytes long, ok.\n";
  const size_t n = sizeof piece - 1;
  const double start = pattern_now();
  for (long r = 0; r < repeat; ++r) {
    size_t len = 0, cap = 16;
    char* s = malloc(cap);
    if (!s) pattern_die("malloc");
    while (len + n <= total) {
      if (len + n > cap) {
        while (len + n > cap) cap *= 2;
        s = realloc(s, cap);
        if (!s) pattern_die("realloc");
      }
      memcpy(s + len, piece, n);
      len += n;
    }
    pattern_sink = s;
    free(s);
  }
  pattern_report(start);
  return 0;
}
