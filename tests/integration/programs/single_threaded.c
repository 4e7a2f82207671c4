/* A program that checks it is single-threaded before it would sandbox
   itself, as chromium's zygote does (its ThreadHelpers count the entries
   of /proc/self/task), first in itself and then in a fork child, after
   allocating and opening files as such a program does at start
   (transparency_test.cc). Prints "threads N child M" and exits 0 when both
   are 1, 1 otherwise. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int threads(void) {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  for (struct dirent* e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

static void start_up(void) {
  for (int i = 0; i < 200; ++i) {
    char* p = malloc(64 * 1024);
    memset(p, 1, 64 * 1024);
    free(p);
  }
  const int fd = open("/dev/null", O_RDONLY);
  if (fd >= 0) close(fd);
}

int main(void) {
  start_up();
  const int own = threads();
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return 2;
  const pid_t child = fork();
  if (child < 0) return 2;
  if (child == 0) {
    start_up();
    const int n = threads();
    (void)!write(pipe_fds[1], &n, sizeof n);
    _exit(0);
  }
  int in_child = -1, status = 0;
  if (read(pipe_fds[0], &in_child, sizeof in_child) != sizeof in_child || waitpid(child, &status, 0) != child)
    return 2;
  printf("threads %d child %d\n", own, in_child);
  return own == 1 && in_child == 1 ? 0 : 1;
}
