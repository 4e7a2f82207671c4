/* A program that takes the snapshot signal (SIGUSR2) for itself, in one of
   the ways real programs do (transparency_test.cc); exit 0 when it got the
   signal it raised, 1 when someone else took it.
     signal_owner signalfd   blocks SIGUSR2, reads it from a signalfd
     signal_owner sigwait    blocks SIGUSR2, waits for it with sigtimedwait
     signal_owner handler    installs a handler with sigaction
     signal_owner blockfirst blocks SIGUSR2 (with SIGTERM and SIGHUP, as a
                             daemon does before it makes its signalfd), raises
                             it, and finds it pending
     signal_owner query      prints what sigaction reports as SIGUSR2's handler
     signal_owner probe      sets SIG_DFL and puts back what it found, as a
                             shell listing its traps does, then prints
                             "sleeping", sleeps 2 s in one nanosleep (exit 1
                             if cut short) and prints "woke"
     signal_owner lookup     blocks and unblocks the twelve signals glibc's
                             user lookups through systemd (libnss_systemd)
                             block around each lookup, SIGUSR2 among them,
                             prints "sleeping" and sleeps 2 s (through
                             interruptions), then prints "woke"
     signal_owner threadended
                             a thread blocks the same twelve signals and
                             ends holding the block, as a worker leaving
                             signals to the main thread does; then as
                             "lookup"
     signal_owner forkblocked
                             blocks the same twelve signals, forks; the
                             child raises SIGUSR2 while it holds the block,
                             then puts the mask back, which without anyone
                             else taking SIGUSR2 ends it (the default
                             action); the parent prints how the child ended
                             and exits 0 when SIGUSR2 ended it
     signal_owner blockedworker
                             a worker thread blocks the same twelve signals
                             and waits reading a pipe; the main thread
                             prints "ready" and reads its stdin; at a line
                             it lets the worker go, joins it and exits 0
     signal_owner serve [S]  installs a SIGUSR2 handler (nginx's master
                             does), prints "ready", sleeps S s (2) in one
                             nanosleep; exit 1 if cut short, 3 if its
                             handler ran (nobody sent it SIGUSR2)
     signal_owner serveall [S [busy]]
                             as "serve", with its handler on SIGUSR2 and
                             every real-time signal too (a Go runtime
                             takes them all); with "busy", a thread
                             mallocs and frees all along (exit 3 if the
                             handler ran on any signal) */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_usr2(int sig) { handled = sig; }

/* A thread that allocates as long as the process lives (tracked events). */
static void* churn_forever(void* arg) {
  for (;;) {
    free(malloc(100));
    usleep(100);
  }
  return arg;
}

/* Blocks what systemd's NSS_SIGNALS_BLOCK blocks around each user lookup
   (SIGUSR2 among twelve); the mask before in *old. */
static void block_as_nss_lookups_do(sigset_t* old) {
  const int guarded[] = {SIGALRM, SIGVTALRM, SIGPIPE, SIGCHLD, SIGTSTP, SIGIO,
                         SIGHUP, SIGUSR1, SIGUSR2, SIGPROF, SIGURG, SIGWINCH};
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; ++i) sigaddset(&set, guarded[i]);
  sigprocmask(SIG_BLOCK, &set, old);
}

static void* block_and_end(void* arg) {
  sigset_t old;
  block_as_nss_lookups_do(&old);
  return arg;
}

static int g_worker_pipe[2], g_blocked_pipe[2];

/* Told through pipes, not a semaphore: leaktrace starts its dumper thread
   before a sem_wait, and this program is about a process without one. */
static void* block_and_wait(void* arg) {
  sigset_t old;
  block_as_nss_lookups_do(&old);
  char c = 'b';
  if (write(g_blocked_pipe[1], &c, 1) != 1 || read(g_worker_pipe[0], &c, 1) != 1) exit(4);
  return arg;
}

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "";
  if (strcmp(how, "blockedworker") == 0) {
    pthread_t worker;
    char c;
    if (pipe(g_worker_pipe) != 0 || pipe(g_blocked_pipe) != 0 ||
        pthread_create(&worker, NULL, block_and_wait, NULL) != 0 || read(g_blocked_pipe[0], &c, 1) != 1)
      return 2;
    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) return 3;
    if (write(g_worker_pipe[1], "x", 1) != 1 || pthread_join(worker, NULL) != 0) return 2;
    return 0;
  }
  if (strcmp(how, "query") == 0) {
    struct sigaction old;
    sigaction(SIGUSR2, NULL, &old);
    printf("%s\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : old.sa_handler == SIG_IGN ? "SIG_IGN" : "a handler");
    return 0;
  }
  if (strcmp(how, "probe") == 0) {
    struct sigaction dfl = {0}, found;
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGUSR2, &dfl, &found);
    sigaction(SIGUSR2, &found, NULL);
    printf("sleeping\n");
    fflush(stdout);
    const struct timespec two_seconds = {2, 0};
    if (nanosleep(&two_seconds, NULL) != 0) return 1;
    printf("woke\n");
    return 0;
  }
  if (strcmp(how, "lookup") == 0 || strcmp(how, "threadended") == 0) {
    if (how[0] == 'l') {
      sigset_t old;
      block_as_nss_lookups_do(&old);
      sigprocmask(SIG_SETMASK, &old, NULL);
    } else {
      pthread_t thread;
      if (pthread_create(&thread, NULL, block_and_end, NULL) != 0 || pthread_join(thread, NULL) != 0) return 2;
    }
    printf("sleeping\n");
    fflush(stdout);
    struct timespec left = {2, 0};
    while (nanosleep(&left, &left) != 0) {
    }
    printf("woke\n");
    return 0;
  }
  if (strcmp(how, "forkblocked") == 0) {
    sigset_t old;
    block_as_nss_lookups_do(&old);
    const pid_t child = fork();
    if (child == 0) {
      kill(getpid(), SIGUSR2);
      sigprocmask(SIG_SETMASK, &old, NULL);
      _exit(0);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child) return 2;
    if (WIFSIGNALED(status)) printf("child killed by signal %d\n", WTERMSIG(status));
    else printf("child exited %d\n", WEXITSTATUS(status));
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR2 ? 0 : 1;
  }
  if (strcmp(how, "serveall") == 0) {
    struct sigaction act = {0};
    act.sa_handler = on_usr2;
    sigaction(SIGUSR2, &act, NULL);
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) sigaction(sig, &act, NULL);
    pthread_t busy;
    if (argc > 3 && strcmp(argv[3], "busy") == 0 && pthread_create(&busy, NULL, churn_forever, NULL) != 0) return 2;
    printf("ready\n");
    fflush(stdout);
    const struct timespec sleep_for = {argc > 2 ? atoi(argv[2]) : 2, 0};
    if (nanosleep(&sleep_for, NULL) != 0) return 1;
    return handled ? 3 : 0;
  }
  if (strcmp(how, "serve") == 0) {
    struct sigaction act = {0};
    act.sa_handler = on_usr2;
    sigaction(SIGUSR2, &act, NULL);
    printf("ready\n");
    fflush(stdout);
    const struct timespec sleep_for = {argc > 2 ? atoi(argv[2]) : 2, 0};
    if (nanosleep(&sleep_for, NULL) != 0) return 1;
    return handled ? 3 : 0;
  }
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  if (strcmp(how, "handler") == 0) {
    struct sigaction act = {0};
    act.sa_handler = on_usr2;
    sigaction(SIGUSR2, &act, NULL);
    kill(getpid(), SIGUSR2);
    for (int i = 0; i < 200 && !handled; ++i) usleep(10000);
    return handled == SIGUSR2 ? 0 : 1;
  }
  if (strcmp(how, "blockfirst") == 0) {
    sigset_t set = usr2, pending;
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR2);
    usleep(200000);  /* time for any other thread to take it */
    sigpending(&pending);
    return sigismember(&pending, SIGUSR2) == 1 ? 0 : 1;
  }
  sigprocmask(SIG_BLOCK, &usr2, NULL);
  if (strcmp(how, "signalfd") == 0) {
    const int fd = signalfd(-1, &usr2, 0);
    if (fd < 0) return 2;
    kill(getpid(), SIGUSR2);
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) return 1;
    struct signalfd_siginfo info;
    return read(fd, &info, sizeof info) == sizeof info && info.ssi_signo == SIGUSR2 ? 0 : 1;
  }
  if (strcmp(how, "sigwait") == 0) {
    const struct timespec two_seconds = {2, 0};
    siginfo_t info;
    sigtimedwait(&usr2, &info, &(struct timespec){0, 1000000});  /* first: leaktrace steps aside */
    kill(getpid(), SIGUSR2);
    return sigtimedwait(&usr2, &info, &two_seconds) == SIGUSR2 ? 0 : 1;
  }
  fprintf(stderr, "usage: signal_owner signalfd|sigwait|handler|blockfirst|query|probe|lookup|threadended|forkblocked|serve\n");
  return 2;
}
