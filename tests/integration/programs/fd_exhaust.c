/* Runs out of descriptors, as a program with an fd leak ends up doing:
   lowers its soft RLIMIT_NOFILE to 64, opens /dev/null from
   exhaust_descriptors() until open fails with EMFILE, and waits at
   "exhausted" (a snapshot must still arrive). Then closes them all and
   waits at "closed". Exits 1 if open failed for another reason.

   fd_exhaust --exit: lowers the limit to 64 and execs itself (so the
   library starts under that limit, as in a service started with it), runs
   out of descriptors and exits at once, holding them all: its exit dump
   must still be written. */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <string.h>
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

static int lower_limit(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = 64;
  return setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--exit") == 0) {
    if (lower_limit() != 0) return 1;
    execl("/proc/self/exe", argv[0], "--exit-at-limit", (char*)NULL);
    return 1;
  }
  if (argc > 1 && strcmp(argv[1], "--exit-at-limit") == 0) return exhaust_descriptors() ? 0 : 1;
  if (lower_limit() != 0) return 1;
  if (!exhaust_descriptors()) return 1;
  checkpoint("exhausted");
  for (int i = 0; i < opened; ++i) close(fds[i]);
  checkpoint("closed");
  return 0;
}
