/* Descriptors opened and closed at once, over and over (a server opening a
   file per request): fd_churn COUNT [absolute|relative|at]. Each open is a
   resource leaktrace records, each close one it forgets. "absolute" (the
   default) opens /dev/null, "relative" opens "null" from /dev as working
   directory, "at" opens "null" with openat on a descriptor of /dev (as a
   tree walk does: find, du, grep -r): a relative path names a file only at
   the moment of its open, so a tracker must make it absolute there. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 200000);
  const char* how = argc > 2 ? argv[2] : "absolute";
  const int relative = strcmp(how, "relative") == 0, at = strcmp(how, "at") == 0;
  if (!relative && !at && strcmp(how, "absolute") != 0) pattern_die("fd_churn COUNT [absolute|relative|at]");
  if (relative && chdir("/dev") != 0) pattern_die("chdir /dev");
  const int dir = at ? open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (at && dir < 0) pattern_die("open /dev");
  const double start = pattern_now();
  for (long i = 0; i < count; ++i) {
    const int fd = at ? openat(dir, "null", O_RDONLY | O_CLOEXEC)
                      : open(relative ? "null" : "/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) pattern_die("open");
    close(fd);
  }
  pattern_report(start);
  if (dir >= 0) close(dir);
  return 0;
}
