// Streams and directory handles that own a descriptor: fopen and opendir
// make one (through libc's internal open, which never reaches hooks_fd.cc),
// fclose and closedir release it. The descriptor (fileno / dirfd) is what is
// tracked, with the stream call's stack. fdopen and fdopendir wrap a
// descriptor that already exists: its creator stays its site, unless it was
// never recorded (inherited, or made by a call we do not see).
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "preload/internal/compiler.h"
#include "preload/resources/fd_kind.h"
#include "preload/interpose/real_functions.h"
#include "preload/resources/resource_paths.h"

using namespace leaktrace::preload;

namespace {

#define REAL_OR_FAIL(fn, failed) \
  EnsureReal();                \
  if (real.fn == nullptr) {   \
    errno = ENOSYS;              \
    return failed;               \
  }

LT_ALWAYS_INLINE FILE* OpenedStream(FILE* f, const char* path) {
  if (f != nullptr && TrackingThisCall()) {
    ErrnoKeeper keep;
    const int fd = fileno(f);
    if (fd >= 0) RecordOpenedFd(fd, path);
  }
  return f;
}

// Before the stream's descriptor is released.
LT_ALWAYS_INLINE void ForgetStream(FILE* f) {
  if (f != nullptr && TrackingThisCall()) {
    ErrnoKeeper keep;
    ForgetFd(fileno(f));
  }
}

FILE* Reopen(FILE* (*fn)(const char*, const char*, FILE*), const char* path, const char* mode, FILE* f) {
  // The old descriptor is closed whether or not the reopen succeeds.
  ForgetStream(f);
  FILE* result = fn(path, mode, f);
  if (result != nullptr && TrackingThisCall()) {
    ErrnoKeeper keep;
    const int fd = fileno(result);
    if (fd < 0) return result;
    if (path != nullptr) {
      RecordOpenedFd(fd, path);
    } else {
      RecordProbedFd(fd);  // same file, new mode
    }
  }
  return result;
}

}  // namespace

LT_EXPORT FILE* fopen(const char* path, const char* mode) {
  REAL_OR_FAIL(fopen, nullptr);
  return OpenedStream(real.fopen(path, mode), path);
}

LT_EXPORT FILE* fopen64(const char* path, const char* mode) {
  REAL_OR_FAIL(fopen64, nullptr);
  return OpenedStream(real.fopen64(path, mode), path);
}

LT_EXPORT FILE* fdopen(int fd, const char* mode) {
  REAL_OR_FAIL(fdopen, nullptr);
  FILE* f = real.fdopen(fd, mode);
  if (f != nullptr && TrackingThisCall()) RecordFdIfUnknown(fd);
  return f;
}

LT_EXPORT FILE* freopen(const char* path, const char* mode, FILE* f) {
  REAL_OR_FAIL(freopen, nullptr);
  return Reopen(real.freopen, path, mode, f);
}

LT_EXPORT FILE* freopen64(const char* path, const char* mode, FILE* f) {
  REAL_OR_FAIL(freopen64, nullptr);
  return Reopen(real.freopen64, path, mode, f);
}

LT_EXPORT int fclose(FILE* f) {
  REAL_OR_FAIL(fclose, EOF);
  ForgetStream(f);
  return real.fclose(f);
}

LT_EXPORT FILE* popen(const char* command, const char* mode) {
  REAL_OR_FAIL(popen, nullptr);
  FILE* f = real.popen(command, mode);
  if (f != nullptr && TrackingThisCall()) {
    ErrnoKeeper keep;
    const int fd = fileno(f);
    if (fd >= 0) RecordFd(fd, KindLabel("pipe"));
  }
  return f;
}

// An unnamed temporary file (O_TMPFILE, or a name unlinked at once).
LT_EXPORT FILE* tmpfile() {
  REAL_OR_FAIL(tmpfile, nullptr);
  FILE* f = real.tmpfile();
  if (f != nullptr && TrackingThisCall()) {
    ErrnoKeeper keep;
    const int fd = fileno(f);
    if (fd >= 0) RecordProbedFd(fd);
  }
  return f;
}

LT_EXPORT int pclose(FILE* f) {
  REAL_OR_FAIL(pclose, -1);
  ForgetStream(f);
  return real.pclose(f);
}

LT_EXPORT DIR* opendir(const char* path) {
  REAL_OR_FAIL(opendir, nullptr);
  DIR* d = real.opendir(path);
  if (d != nullptr && TrackingThisCall()) {
    ErrnoKeeper keep;
    const int fd = dirfd(d);
    if (fd >= 0) RecordOpenedFd(fd, path, "dir");
  }
  return d;
}

LT_EXPORT DIR* fdopendir(int fd) {
  REAL_OR_FAIL(fdopendir, nullptr);
  DIR* d = real.fdopendir(fd);
  if (d != nullptr && TrackingThisCall()) RecordFdIfUnknown(fd);
  return d;
}

LT_EXPORT int closedir(DIR* d) {
  REAL_OR_FAIL(closedir, -1);
  // glibc's closedir(NULL) fails with EINVAL: keep that.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnonnull-compare"
  const bool valid = d != nullptr;
#pragma GCC diagnostic pop
  if (valid && TrackingThisCall()) {
    ErrnoKeeper keep;
    ForgetFd(dirfd(d));
  }
  return real.closedir(d);
}
