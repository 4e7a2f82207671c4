// Run set-user-ID root by an unprivileged user (setuid_test.py): reports its
// ids, whether a leaktrace library is mapped into it, and does some ordinary
// work (allocations, a file, a thread) so that an active library would have
// something to record. Exits 0.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static void *worker(void *arg) {
  char **v = arg;
  for (int i = 0; i < 1000; i++) v[i] = malloc(64 + i);
  return NULL;
}

int main(int argc, char **argv) {
  int mapped = 0;
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[4096];
  while (maps && fgets(line, sizeof line, maps)) {
    if (strstr(line, "libleaktrace")) mapped = 1;
  }
  if (maps) fclose(maps);
  static char *blocks[1000];
  pthread_t t;
  pthread_create(&t, NULL, worker, blocks);
  pthread_join(t, NULL);
  unsigned long secure = getauxval(AT_SECURE);
  // Long enough for an interval snapshot (LEAKTRACE_INTERVAL=1) to be due.
  if (argc > 1) usleep((useconds_t)atoi(argv[1]) * 1000);
  printf("ruid=%d euid=%d secure=%lu leaktrace_mapped=%d\n", (int)getuid(), (int)geteuid(), secure, mapped);
  return 0;
}
