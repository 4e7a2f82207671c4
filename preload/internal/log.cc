#include "preload/internal/log.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>

#include "preload/internal/raw_syscall.h"

namespace leaktrace::preload {
namespace {

// The file descriptor 2 was when leaktrace started: 0 not looked at yet, 1
// none (closed), 2 this device and inode.
std::atomic<int> g_stderr_state{0};
dev_t g_stderr_dev = 0;
ino_t g_stderr_ino = 0;

// Whether fd 2 is `st`'s file, read by the kernel (no fstat another library
// wraps). False when it is closed.
bool StderrFile(struct stat* st) { return RawSyscall(SYS_fstat, STDERR_FILENO, st) == 0; }

// Whether a message may go to fd 2: it is still the file it was when
// leaktrace first looked. A daemon that closed its descriptors at start
// and opened a file of its own got that file as fd 2, and leaktrace's
// messages were written into it.
bool StderrIsTheProgramsOwn() {
  struct stat now;
  if (!StderrFile(&now)) return false;
  return g_stderr_state.load(std::memory_order_acquire) == 2 && now.st_dev == g_stderr_dev && now.st_ino == g_stderr_ino;
}

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

void NoteStderr() {
  if (g_stderr_state.load(std::memory_order_acquire) != 0) return;
  struct stat st;
  if (StderrFile(&st)) {
    g_stderr_dev = st.st_dev;
    g_stderr_ino = st.st_ino;
    g_stderr_state.store(2, std::memory_order_release);
  } else {
    g_stderr_state.store(1, std::memory_order_release);
  }
}

void Log(const char* format, ...) {
  const int saved_errno = errno;
  NoteStderr();  // a message before start-up: fd 2 as it is now
  if (!StderrIsTheProgramsOwn()) {
    errno = saved_errno;
    return;
  }
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
  RawSyscall(SYS_write, STDERR_FILENO, line.data, line.size);
  errno = saved_errno;
}

}  // namespace leaktrace::preload
