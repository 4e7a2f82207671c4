/* Children forked that exit at once with _exit (a pre-forking server's
   health checks, a daemon's double fork): fork_exit COUNT. The cost is
   fork itself plus whatever a tracker does around it, in parent and child. */
#include <sys/wait.h>
#include <unistd.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 2000);
  const double start = pattern_now();
  for (long i = 0; i < count; ++i) {
    const pid_t pid = fork();
    if (pid < 0) pattern_die("fork");
    if (pid == 0) _exit(0);
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) pattern_die("child");
  }
  pattern_report(start);
  return 0;
}
