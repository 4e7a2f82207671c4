/* Runs a command and records the kernel's peak RSS of it (the largest of it
   and the children it waited for): measure_run FILE COMMAND [ARG...].
   Exits as the command did (by the same signal if it was killed by one).

   In place of /usr/bin/time -o FILE, which leaves FILE open on descriptor 3
   in the command: the command would start with fd 3 taken, which changes
   the numbers its own opens get, and hides the very bugs where a tracker's
   descriptor collides with the program's fd 3. FILE is opened here only
   after the command has been reaped. And unlike the Python runner's own
   wait4, the peak is not floored at the runner's size: the kernel carries
   a process's peak across exec, and this process is small. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: measure_run FILE COMMAND [ARG...]\n");
    return 2;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    perror("measure_run: fork");
    return 125;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror("measure_run: exec");
    _exit(127);
  }
  int status;
  struct rusage usage;
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      perror("measure_run: wait4");
      return 125;
    }
  }
  FILE* out = fopen(argv[1], "w");
  if (out) {
    fprintf(out, "%ld\n", usage.ru_maxrss);
    fclose(out);
  }
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}
