/* A program at its address-space limit (ulimit -v, prlimit --as, systemd's
   LimitAS=) that goes on running (lifecycle_test.cc): it sets RLIMIT_AS to
   what it maps now plus 64 MiB, takes 64-byte blocks until malloc returns
   NULL and pages until mmap fails, checkpoint "full" (the next mapping
   anyone makes fails: a snapshot's buffer too), then frees them all and lifts its limit (glibc keeps the
   address space it took), checkpoint "freed", and exits 0. Exit 2 when a
   call fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "step_protocol.h"

/* The bytes of address space the process has mapped (VmSize). */
static long mapped_bytes(void) {
  FILE* status = fopen("/proc/self/status", "r");
  if (status == NULL) return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, status))
    if (strncmp(line, "VmSize:", 7) == 0) kib = strtol(line + 7, NULL, 10);
  fclose(status);
  return kib < 0 ? -1 : kib * 1024;
}

int main(void) {
  const long now = mapped_bytes();
  if (now < 0) return 2;
  const struct rlimit limit = {(rlim_t)now + (64L << 20), RLIM_INFINITY};
  if (setrlimit(RLIMIT_AS, &limit) != 0) return 2;
  void** chain = NULL;
  long blocks = 0;
  for (;;) {
    void** block = malloc(64);
    if (block == NULL) break;
    *block = chain;
    chain = block;
    ++blocks;
  }
  if (blocks < 1000) return 2;
  /* What malloc's last, bigger, mapping could not take: page by page. */
  long pages = 0;
  while (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) ++pages;
  checkpoint("full");
  while (chain != NULL) {
    void** next = *chain;
    free(chain);
    chain = next;
  }
  const struct rlimit none = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_AS, &none) != 0) return 2;
  checkpoint("freed");
  return 0;
}
