/* A program whose signal handler waits (poll, as async-signal-safe code
   may) while its main thread allocates and frees: SIGALRM every 0.5 ms for
   0.2 s, each handler a poll of no descriptors; a second thread waits in
   read meanwhile. Under leaktrace the handler's wait must not start the
   dumper thread there (pthread_create allocates, and the handler may have
   interrupted malloc: a deadlock, or a corrupted heap when the process is
   single-threaded). `handler_waits 0` runs without the second thread.
   Prints "ok", exit 0. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_fired;
static int g_pipe[2];

static void on_alarm(int sig) {
  (void)sig;
  poll(NULL, 0, 0);
  g_fired = g_fired + 1;
}

static void* wait_for_byte(void* arg) {
  char c;
  if (read(g_pipe[0], &c, 1) != 1) exit(1);
  return arg;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const int second_thread = argc < 2 || atoi(argv[1]) != 0;
  pthread_t thread;
  if (pipe(g_pipe) != 0) return 1;
  if (second_thread && pthread_create(&thread, NULL, wait_for_byte, NULL) != 0) return 1;
  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  action.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &action, NULL);
  const struct itimerval every = {{0, 500}, {0, 500}};
  setitimer(ITIMER_REAL, &every, NULL);
  void* keep[64] = {0};
  unsigned long n = 0;
  const double start = now();
  while (now() - start < 0.2) {
    for (int i = 0; i < 64; ++i) {
      free(keep[i]);
      keep[i] = malloc(16 + (n * i * 37) % 4000);
      ++n;
    }
  }
  const struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  for (int i = 0; i < 64; ++i) free(keep[i]);
  if (second_thread) {
    if (write(g_pipe[1], "x", 1) != 1) return 1;
    pthread_join(thread, NULL);
  }
  printf(g_fired > 0 ? "ok\n" : "no signal\n");
  return 0;
}
