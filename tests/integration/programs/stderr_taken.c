/* A program started with its stderr closed (2>&-), as a daemon may be:
   the file it opens next gets descriptor 2 (transparency_test.cc). It then
   takes SIGUSR2 for itself (which leaktrace, under LEAKTRACE_VERBOSE, says
   on stderr) and writes "program data" to its file, named by argv[1]. */
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static void on_usr2(int sig) { (void)sig; }

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 2;
  signal(SIGUSR2, on_usr2);
  return write(fd, "program data\n", 13) == 13 ? 0 : 2;
}
