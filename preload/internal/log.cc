#include "preload/internal/log.h"

#include <errno.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdint>

namespace leaktrace::preload {
namespace {

struct LineBuffer {
  char data[512];
  size_t size = 0;
  void Put(char c) {
    if (size < sizeof data - 1) data[size++] = c;
  }
  void Put(const char* s) {
    for (; s && *s; ++s) Put(*s);
  }
  void PutUnsigned(unsigned long long v, unsigned base) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v != 0);
    while (n) Put(digits[--n]);
  }
};

}  // namespace

void Log(const char* format, ...) {
  const int saved_errno = errno;
  LineBuffer line;
  line.Put("leaktrace: ");
  va_list args;
  va_start(args, format);
  for (const char* f = format; *f; ++f) {
    if (*f != '%') {
      line.Put(*f);
      continue;
    }
    ++f;
    int longs = 0;
    while (*f == 'l') ++longs, ++f;
    switch (*f) {
      case 's': line.Put(va_arg(args, const char*)); break;
      case 'd': {
        long long v = longs ? va_arg(args, long) : va_arg(args, int);
        if (v < 0) line.Put('-'), v = -v;
        line.PutUnsigned(static_cast<unsigned long long>(v), 10);
        break;
      }
      case 'u':
      case 'x': {
        unsigned long long v = longs == 0   ? va_arg(args, unsigned)
                               : longs == 1 ? va_arg(args, unsigned long)
                                            : va_arg(args, unsigned long long);
        line.PutUnsigned(v, *f == 'x' ? 16 : 10);
        break;
      }
      case '%': line.Put('%'); break;
      case '\0': --f; break;
      default: break;
    }
  }
  va_end(args);
  line.data[line.size++] = '\n';
  ssize_t ignored = write(STDERR_FILENO, line.data, line.size);
  (void)ignored;
  errno = saved_errno;
}

}  // namespace leaktrace::preload
