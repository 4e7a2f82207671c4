/* Runs out of descriptors, as a program with an fd leak ends up doing:
   lowers its soft RLIMIT_NOFILE to 64, opens /dev/null from
   exhaust_descriptors() until open fails with EMFILE, and waits at
   "exhausted" (a snapshot must still arrive). Then closes them all and
   waits at "closed". Exits 1 if open failed for another reason. */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "step_protocol.h"

static int fds[1024];
static int opened;

__attribute__((noinline)) int exhaust_descriptors(void) {
  while (opened < 1024) {
    const int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) return errno == EMFILE;
    fds[opened++] = fd;
  }
  return 0;
}

int main(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = 64;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return 1;
  if (!exhaust_descriptors()) return 1;
  checkpoint("exhausted");
  for (int i = 0; i < opened; ++i) close(fds[i]);
  checkpoint("closed");
  return 0;
}
