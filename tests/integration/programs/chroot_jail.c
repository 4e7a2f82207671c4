/* A service that confines itself with chroot(2) after start-up (as
   vsftpd, bind, postfix's daemons do), so the dump directory, named from
   outside, is no longer there as it sees it. Keeps 16 MiB live in one
   block (at the default 512 KiB sampling, missed with chance e^-32; the
   4 MiB it kept before were missed with e^-8, once in ~3,000 runs),
   chroots into argv[1], stops at checkpoint "jailed" (step_protocol.h),
   exits 0. Exit 77 when it may not chroot. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "step_protocol.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char* kept = malloc(16 << 20);
  if (kept == NULL) return 2;
  memset(kept, 1, 16 << 20);
  if (chroot(argv[1]) != 0 || chdir("/") != 0) return 77;
  checkpoint("jailed");
  free(kept);
  return 0;
}
