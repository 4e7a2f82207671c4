/* The waits leaktrace makes in slices in a process of one thread
   (preload/interpose/sliced_wait.h), each longer than a slice, checked for
   what the program sees: the result, errno, the time still to wait as the
   call reports it, select's sets and timeout, and a wait at least as long
   as asked (transparency_test.cc). Prints "NAME ok" per check, or "NAME
   FAIL: why"; then "threads N" (from /proc/self/status). A child process
   writes to a pipe after a delay for the waits that end on a ready
   descriptor; SIGALRM (a handler that does nothing, no SA_RESTART)
   interrupts the ones that end by a signal. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int threads(void) {
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return -1;
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  fclose(f);
  return n;
}

static int failures;

static void check(const char* name, int ok, const char* why, double value) {
  if (ok) {
    printf("%s ok\n", name);
  } else {
    printf("%s FAIL: %s (%.3f)\n", name, why, value);
    ++failures;
  }
  fflush(stdout);
}

/* Elapsed seconds at least `want` and not far beyond (a loaded machine). */
static int lasted(double elapsed, double want) { return elapsed >= want - 0.0005 && elapsed < want + 0.4; }

static void on_alarm(int sig) { (void)sig; }

/* SIGALRM once, `seconds` from now. */
static void alarm_in(double seconds) {
  struct itimerval t;
  memset(&t, 0, sizeof t);
  t.it_value.tv_sec = (time_t)seconds;
  t.it_value.tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
  setitimer(ITIMER_REAL, &t, NULL);
}

/* A pipe whose write end a child writes one byte to after `seconds`. */
static pid_t writer;
static int pipe_written_in(double seconds) {
  int fds[2];
  if (pipe(fds) != 0) exit(2);
  writer = fork();
  if (writer < 0) exit(2);
  if (writer == 0) {
    close(fds[0]);
    usleep((useconds_t)(seconds * 1e6));
    if (write(fds[1], "x", 1) != 1) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  return fds[0];
}

static void pipe_done(int fd) {
  close(fd);
  waitpid(writer, NULL, 0);
}

int main(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  double t0;

  {
    const struct timespec ask = {0, 350 * 1000 * 1000};
    t0 = now();
    const int rc = nanosleep(&ask, NULL);
    check("nanosleep", rc == 0 && lasted(now() - t0, 0.35), "rc or time", now() - t0);
  }
  {
    const struct timespec ask = {1, 0};
    struct timespec left = {9, 9};
    alarm_in(0.25);
    const int rc = nanosleep(&ask, &left);
    const double l = left.tv_sec + left.tv_nsec / 1e9;
    check("nanosleep_interrupted", rc == -1 && errno == EINTR && l > 0.70 && l <= 0.76, "rc, errno or left", l);
  }
  {
    const struct timespec ask = {0, 350 * 1000 * 1000};
    t0 = now();
    const int rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ask, NULL);
    check("clock_nanosleep", rc == 0 && lasted(now() - t0, 0.35), "rc or time", now() - t0);
  }
  {
    const struct timespec ask = {1, 0};
    struct timespec left = {9, 9};
    alarm_in(0.25);
    const int rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ask, &left);
    const double l = left.tv_sec + left.tv_nsec / 1e9;
    check("clock_nanosleep_interrupted", rc == EINTR && l > 0.70 && l <= 0.76, "rc or left", l);
  }
  {
    /* An absolute end (CPython's time.sleep). */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 350 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) until.tv_sec += 1, until.tv_nsec -= 1000000000;
    t0 = now();
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    check("clock_nanosleep_absolute", rc == 0 && lasted(now() - t0, 0.35), "rc or time", now() - t0);
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    alarm_in(0.25);
    t0 = now();
    rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    check("clock_nanosleep_absolute_interrupted", rc == EINTR && now() - t0 < 0.6, "rc or time", now() - t0);
  }
  {
    t0 = now();
    const unsigned rc = sleep(2);
    check("sleep", rc == 0 && lasted(now() - t0, 2.0), "rc or time", now() - t0);
  }
  {
    alarm_in(1.3);
    const unsigned rc = sleep(3);  /* 1.7 s unslept: 1 whole second */
    check("sleep_interrupted", rc == 1, "unslept", rc);
  }
  {
    t0 = now();
    const int rc = usleep(350000);
    check("usleep", rc == 0 && lasted(now() - t0, 0.35), "rc or time", now() - t0);
  }
  {
    alarm_in(0.25);
    const int rc = usleep(1000000);
    check("usleep_interrupted", rc == -1 && errno == EINTR, "rc or errno", rc);
  }
  {
    t0 = now();
    const int rc = poll(NULL, 0, 350);
    check("poll_timeout", rc == 0 && lasted(now() - t0, 0.35), "rc or time", now() - t0);
  }
  {
    const int fd = pipe_written_in(0.45);
    struct pollfd p = {fd, POLLIN, 0};
    t0 = now();
    const int rc = poll(&p, 1, 5000);
    check("poll_ready", rc == 1 && (p.revents & POLLIN) && lasted(now() - t0, 0.45), "rc, revents or time",
          now() - t0);
    pipe_done(fd);
  }
  {
    alarm_in(0.25);
    const int rc = poll(NULL, 0, -1);
    check("poll_interrupted", rc == -1 && errno == EINTR, "rc or errno", rc);
  }
  {
    const struct timespec ask = {0, 350 * 1000 * 1000};
    t0 = now();
    const int rc = ppoll(NULL, 0, &ask, NULL);
    check("ppoll_timeout", rc == 0 && lasted(now() - t0, 0.35), "rc or time", now() - t0);
  }
  {
    const int fd = pipe_written_in(0.45);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    struct timeval tv = {1, 500000};
    t0 = now();
    const int rc = select(fd + 1, &r, NULL, NULL, &tv);
    const double l = tv.tv_sec + tv.tv_usec / 1e6;
    check("select_ready", rc == 1 && FD_ISSET(fd, &r) && l > 0.9 && l <= 1.06, "rc, set or timeout left", l);
    pipe_done(fd);
  }
  {
    const int fd = pipe_written_in(3.0);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    struct timeval tv = {0, 350000};
    t0 = now();
    const int rc = select(fd + 1, &r, NULL, NULL, &tv);
    check("select_timeout", rc == 0 && !FD_ISSET(fd, &r) && tv.tv_sec == 0 && tv.tv_usec == 0 &&
                                lasted(now() - t0, 0.35),
          "rc, set, timeout left or time", now() - t0);
    kill(writer, SIGKILL);
    pipe_done(fd);
  }
  {
    const int fd = pipe_written_in(0.45);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    const struct timespec ask = {2, 0};
    t0 = now();
    const int rc = pselect(fd + 1, &r, NULL, NULL, &ask, NULL);
    check("pselect_ready", rc == 1 && FD_ISSET(fd, &r) && lasted(now() - t0, 0.45), "rc, set or time", now() - t0);
    pipe_done(fd);
  }
  {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e;
    t0 = now();
    int rc = epoll_wait(ep, &e, 1, 350);
    check("epoll_wait_timeout", rc == 0 && lasted(now() - t0, 0.35), "rc or time", now() - t0);
    const int fd = pipe_written_in(0.45);
    struct epoll_event want = {EPOLLIN, {.fd = fd}};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &want);
    t0 = now();
    rc = epoll_wait(ep, &e, 1, -1);
    check("epoll_wait_ready", rc == 1 && e.data.fd == fd && lasted(now() - t0, 0.45), "rc, fd or time", now() - t0);
    pipe_done(fd);
    alarm_in(0.25);
    rc = epoll_pwait(ep, &e, 1, 5000, NULL);
    check("epoll_pwait_interrupted", rc == -1 && errno == EINTR, "rc or errno", rc);
    close(ep);
  }
  printf("threads %d\n", threads());
  return failures == 0 ? 0 : 1;
}
