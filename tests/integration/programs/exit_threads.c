/* The exit dump's thread figures (memory_test.cc): starts argv[1] threads
   that block forever, waits until each is blocked, and returns from main,
   so the exit dump sees the program's argv[1] + 1 threads (and leaktrace's
   dumper thread, which is not the program's). */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static sem_t started;

/* Whether every thread but the caller is blocked in the kernel
   (/proc/self/task/TID/syscall shows no "running"). */
static int others_blocked(void) {
  DIR* dir = opendir("/proc/self/task");
  if (dir == NULL) return 1;
  const long self = syscall(SYS_gettid);
  int blocked = 1;
  struct dirent* e;
  while (blocked && (e = readdir(dir)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || atol(e->d_name) == self) continue;
    char path[300], word[16] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/syscall", e->d_name);
    FILE* f = fopen(path, "r");
    if (f == NULL) continue;  /* ended meanwhile */
    if (fscanf(f, "%15s", word) != 1 || strcmp(word, "running") == 0) blocked = 0;
    fclose(f);
  }
  closedir(dir);
  return blocked;
}

static void* block_forever(void* arg) {
  (void)arg;
  sem_post(&started);
  for (;;) pause();
  return NULL;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 0;
  sem_init(&started, 0, 0);
  for (int i = 0; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, block_forever, NULL) != 0) return 1;
    pthread_detach(t);
  }
  for (int i = 0; i < threads; ++i) sem_wait(&started);
  /* Past sem_post, into pause: a blocked thread shows its stack pointer,
     one that runs (or waits for a CPU) shows "running" and is counted
     unlocated. A fixed 20 ms was not always enough on a loaded machine for
     200 threads; after those 20 ms (a wait that starts leaktrace's dumper
     thread), wait until none runs (10 s at most). */
  usleep(20 * 1000);
  for (int i = 0; i < 1000 && !others_blocked(); ++i) usleep(10 * 1000);
  return 0;
}
