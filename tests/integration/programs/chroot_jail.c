/* A service that confines itself with chroot(2) after start-up (as
   vsftpd, bind, postfix's daemons do), so the dump directory, named from
   outside, is no longer there as it sees it. Keeps 4 MiB live, chroots
   into argv[1], stops at checkpoint "jailed" (step_protocol.h), exits 0.
   Exit 77 when it may not chroot. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "step_protocol.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char* kept = malloc(4 << 20);
  memset(kept, 1, 4 << 20);
  if (chroot(argv[1]) != 0 || chdir("/") != 0) return 77;
  checkpoint("jailed");
  free(kept);
  return 0;
}
