/* Descriptors opened and closed at once, over and over (a server opening a
   file per request): fd_churn COUNT. Each open is a resource leaktrace
   records, each close one it forgets. */
#include <fcntl.h>
#include <unistd.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 200000);
  const double start = pattern_now();
  for (long i = 0; i < count; ++i) {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) pattern_die("open");
    close(fd);
  }
  pattern_report(start);
  return 0;
}
