/* A chain of short-lived processes, as scripts and build tools make them:
   exec_chain COUNT runs `sh -c "sh -c true"` COUNT times, one after another.
   LD_PRELOAD is inherited, so every shell starts under the tracker: this is
   the per-process start-up (and exit dump) cost, three processes a step. */
#include <sys/wait.h>
#include <unistd.h>

#include "pattern.h"

int main(int argc, char** argv) {
  const long count = pattern_arg(argc, argv, 1, 200);
  const double start = pattern_now();
  for (long i = 0; i < count; ++i) {
    const pid_t pid = fork();
    if (pid < 0) pattern_die("fork");
    if (pid == 0) {
      execlp("sh", "sh", "-c", "sh -c true", (char*)NULL);
      _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) pattern_die("sh");
  }
  pattern_report(start);
  return 0;
}
