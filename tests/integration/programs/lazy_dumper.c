/* When leaktrace's dumper thread starts (dumper_start_test.cc).
     lazy_dumper WAIT
   allocates a little and opens a file, prints "threads N" (its thread
   count, from /proc/self/status), makes the wait WAIT with a short
   timeout, and prints "threads N" again. WAIT: none, nanosleep,
   clock_nanosleep, usleep, sleep, poll, ppoll, select, pselect, epoll_wait,
   epoll_pwait, sem_timedwait, pause, sigsuspend (the last two woken by a
   timer's SIGALRM), or late: runs its own code for 150 ms, then opens a
   file. Exit 1 on a failed call.
     lazy_dumper rawsleep | bigwrite
   print "ready", then sleep 2 s in one raw nanosleep system call (exit 1
   if cut short), or write 1 MiB of 'x' to stdout in one write (exit 1 if
   it wrote less): calls a snapshot signal would cut short, in a process
   with no dumper thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void* volatile sink;

static int threads(void) {
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) exit(1);
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  fclose(f);
  return n;
}

static void on_alarm(int sig) { (void)sig; }

/* Every 2 ms until alarm_off: a single alarm may fire before the wait is
   entered (the dumper thread's start comes first), and then the wait would
   never end. */
static void alarm_soon(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  const struct itimerval soon = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &soon, NULL);
}

static int alarm_off(int rc) {
  const struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  return rc;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int wait_in(const char* wait) {
  const struct timespec ms = {0, 1000 * 1000};
  if (strcmp(wait, "none") == 0) return 0;
  if (strcmp(wait, "nanosleep") == 0) return nanosleep(&ms, NULL);
  if (strcmp(wait, "clock_nanosleep") == 0) return clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
  if (strcmp(wait, "usleep") == 0) return usleep(1000);
  if (strcmp(wait, "sleep") == 0) return (int)sleep(0);
  if (strcmp(wait, "poll") == 0) return poll(NULL, 0, 1);
  if (strcmp(wait, "ppoll") == 0) return ppoll(NULL, 0, &ms, NULL);
  if (strcmp(wait, "select") == 0) {
    struct timeval tv = {0, 1000};
    return select(0, NULL, NULL, NULL, &tv);
  }
  if (strcmp(wait, "pselect") == 0) return pselect(0, NULL, NULL, NULL, &ms, NULL);
  if (strcmp(wait, "epoll_wait") == 0 || strcmp(wait, "epoll_pwait") == 0) {
    struct epoll_event e;
    const int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return -1;
    const int rc = strcmp(wait, "epoll_wait") == 0 ? epoll_wait(fd, &e, 1, 1) : epoll_pwait(fd, &e, 1, 1, NULL);
    close(fd);
    return rc;
  }
  if (strcmp(wait, "sem_timedwait") == 0) {
    sem_t sem;
    sem_init(&sem, 0, 0);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 1000 * 1000;
    if (deadline.tv_nsec >= 1000 * 1000 * 1000) deadline.tv_sec += 1, deadline.tv_nsec -= 1000 * 1000 * 1000;
    const int rc = sem_timedwait(&sem, &deadline);
    return rc != 0 && errno == ETIMEDOUT ? 0 : -1;
  }
  if (strcmp(wait, "pause") == 0) {
    alarm_soon();
    return alarm_off(pause() == -1 && errno == EINTR ? 0 : -1);
  }
  if (strcmp(wait, "sigsuspend") == 0) {
    sigset_t none;
    sigemptyset(&none);
    alarm_soon();
    return alarm_off(sigsuspend(&none) == -1 && errno == EINTR ? 0 : -1);
  }
  if (strcmp(wait, "late") == 0) {
    const double until = now() + 0.15;
    while (now() < until) {
    }
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    close(fd);
    return 0;
  }
  fprintf(stderr, "lazy_dumper: unknown wait %s\n", wait);
  exit(2);
}

static int cut_short_calls(const char* how) {
  printf("ready\n");
  fflush(stdout);
  if (strcmp(how, "rawsleep") == 0) {
    const struct timespec two_seconds = {2, 0};
    return syscall(SYS_nanosleep, &two_seconds, NULL) == 0 ? 0 : 1;
  }
  enum { kBytes = 1 << 20 };
  char* data = malloc(kBytes);
  if (data == NULL) return 1;
  memset(data, 'x', kBytes);
  return write(1, data, kBytes) == kBytes ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  if (strcmp(argv[1], "rawsleep") == 0 || strcmp(argv[1], "bigwrite") == 0) return cut_short_calls(argv[1]);
  for (int i = 0; i < 100; ++i) sink = malloc(1000 + i);
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  close(fd);
  printf("threads %d\n", threads());
  if (wait_in(argv[1]) != 0) return 1;
  printf("threads %d\n", threads());
  return 0;
}
