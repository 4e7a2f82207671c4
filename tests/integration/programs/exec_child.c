/* Execs `exec_child child` (itself) through posix_spawn, vfork+exec and
   fork+exec; each child leaks one block and exits. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

__attribute__((noinline)) static void child_leak(void) {
  void* volatile p = malloc(555);
  (void)p;
}

static int wait_ok(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    child_leak();
    return 0;
  }
  char* child_argv[] = {argv[0], "child", NULL};
  int ok = 0;
  pid_t pid;
  if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child_argv, environ) == 0) ok += wait_ok(pid);
  pid = vfork();
  if (pid == 0) {
    execve("/proc/self/exe", child_argv, environ);
    _exit(127);
  }
  ok += wait_ok(pid);
  pid = fork();
  if (pid == 0) {
    execve("/proc/self/exe", child_argv, environ);
    _exit(127);
  }
  ok += wait_ok(pid);
  printf("children ok %d\n", ok);
  return ok == 3 ? 0 : 1;
}
