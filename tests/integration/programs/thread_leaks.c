/* Threads as a resource (thread_test.cc). Between checkpoints "before" and
   "after" it leaks a thread pool (POOL_THREADS threads of POOL_STACK bytes
   that block forever, started by leak_pool) and UNJOINED joinable threads
   that return but are never joined (leak_unjoined), while every other way a
   thread comes and goes balances out: joined after returning, detached by
   attribute, detached by itself then pthread_exit from a nested function,
   pthread_exit from a nested function then joined, cancelled then joined,
   timed and try joins, and detached after it had ended. Each from its own
   function, so the diff can tell them apart; keep the constants in step
   with thread_test.cc.

   `thread_leaks fork`: three threads blocking at spawn_before_fork, then a
   thread started at spawn_forker forks; the child starts one thread at
   child_spawn and exits (exit dump); the parent waits for it and exits.

   `thread_leaks trend`: TREND_SNAPSHOTS checkpoints "snap", and after each
   one TREND_STEP more blocked threads at leak_steadily while a joined churn
   comes and goes. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "step_protocol.h"

#define POOL_THREADS 16
#define POOL_STACK (256 * 1024)
#define UNJOINED 2
#define CHURN 12
#define TREND_SNAPSHOTS 4
#define TREND_STEP 4

#define NOINLINE __attribute__((noinline))

static sem_t g_never;  /* never posted: the pool blocks on it forever */

static int TaskCount(void) {
  DIR* d = opendir("/proc/self/task");
  if (d == NULL) exit(4);
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

/* Waits (up to 10 s) until the process has `n` threads: detached threads
   that returned are then really gone. */
static void WaitForTasks(int n) {
  for (int i = 0; i < 10000 && TaskCount() != n; ++i) usleep(1000);
  if (TaskCount() != n) {
    fprintf(stderr, "thread_leaks: %d threads, expected %d\n", TaskCount(), n);
    exit(5);
  }
}

static void Check(int rc, const char* what) {
  if (rc != 0) {
    fprintf(stderr, "thread_leaks: %s: %s\n", what, strerror(rc));
    exit(6);
  }
}

static void* BlockForever(void* arg) {
  (void)arg;
  for (;;) sem_wait(&g_never);
  return NULL;
}

static void* ReturnAtOnce(void* arg) { return arg; }

NOINLINE static void ExitFromDeepInside(int depth) {
  if (depth == 0) pthread_exit((void*)7);
  ExitFromDeepInside(depth - 1);
  __asm__ volatile("" ::: "memory"); /* not a tail call */
}

static void* SelfDetachThenExit(void* arg) {
  (void)arg;
  Check(pthread_detach(pthread_self()), "pthread_detach(self)");
  ExitFromDeepInside(3);
  return NULL;
}

static void* ExitNested(void* arg) {
  (void)arg;
  ExitFromDeepInside(2);
  return NULL;
}

static void* WaitForCancel(void* arg) {
  (void)arg;
  for (;;) pause(); /* a cancellation point */
  return NULL;
}

NOINLINE static void leak_pool(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, POOL_STACK);
  for (int i = 0; i < POOL_THREADS; ++i) {
    pthread_t t;
    Check(pthread_create(&t, &attr, BlockForever, NULL), "pool");
  }
  pthread_attr_destroy(&attr);
}

NOINLINE static void leak_unjoined(pthread_t* out) {
  for (int i = 0; i < UNJOINED; ++i) Check(pthread_create(&out[i], NULL, ReturnAtOnce, NULL), "unjoined");
}

NOINLINE static void churn_joined(void) {
  pthread_t t[CHURN];
  for (int i = 0; i < CHURN; ++i) Check(pthread_create(&t[i], NULL, ReturnAtOnce, NULL), "joined");
  for (int i = 0; i < CHURN; ++i) Check(pthread_join(t[i], NULL), "join");
}

NOINLINE static void churn_detached_attr(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < CHURN; ++i) {
    pthread_t t;
    Check(pthread_create(&t, &attr, ReturnAtOnce, NULL), "detached");
  }
  pthread_attr_destroy(&attr);
}

NOINLINE static void churn_self_detached(void) {
  for (int i = 0; i < CHURN; ++i) {
    pthread_t t;
    Check(pthread_create(&t, NULL, SelfDetachThenExit, NULL), "self-detached");
  }
}

NOINLINE static void churn_exit_nested(void) {
  pthread_t t[CHURN];
  for (int i = 0; i < CHURN; ++i) Check(pthread_create(&t[i], NULL, ExitNested, NULL), "exit nested");
  for (int i = 0; i < CHURN; ++i) {
    void* result = NULL;
    Check(pthread_join(t[i], &result), "join exit nested");
    if (result != (void*)7) exit(7);
  }
}

NOINLINE static void churn_cancelled(void) {
  pthread_t t[CHURN];
  for (int i = 0; i < CHURN; ++i) Check(pthread_create(&t[i], NULL, WaitForCancel, NULL), "cancelled");
  for (int i = 0; i < CHURN; ++i) Check(pthread_cancel(t[i]), "cancel");
  for (int i = 0; i < CHURN; ++i) {
    void* result = NULL;
    Check(pthread_join(t[i], &result), "join cancelled");
    if (result != PTHREAD_CANCELED) exit(8);
  }
}

NOINLINE static void churn_timed_joins(void) {
  pthread_t t[CHURN];
  for (int i = 0; i < CHURN; ++i) Check(pthread_create(&t[i], NULL, ReturnAtOnce, NULL), "timed");
  for (int i = 0; i < CHURN; i += 2) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    Check(pthread_timedjoin_np(t[i], NULL, &deadline), "timedjoin");
  }
  for (int i = 1; i < CHURN; i += 2) {
    int rc;
    while ((rc = pthread_tryjoin_np(t[i], NULL)) == EBUSY) usleep(100);
    Check(rc, "tryjoin");
  }
}

/* Joinable threads that end first and are detached afterwards: reaped by
   the detach. */
NOINLINE static void churn_detached_late(int tasks_before) {
  pthread_t t[CHURN];
  for (int i = 0; i < CHURN; ++i) Check(pthread_create(&t[i], NULL, ReturnAtOnce, NULL), "late");
  WaitForTasks(tasks_before);
  for (int i = 0; i < CHURN; ++i) Check(pthread_detach(t[i]), "late detach");
}

static int Pool(void) {
  sem_init(&g_never, 0, 0);
  checkpoint("before");
  const int tasks = TaskCount();
  leak_pool();
  pthread_t unjoined[UNJOINED];
  leak_unjoined(unjoined);
  churn_joined();
  churn_detached_attr();
  churn_self_detached();
  churn_exit_nested();
  churn_cancelled();
  churn_timed_joins();
  /* Everything but the pool has ended now (the unjoined ones too). */
  WaitForTasks(tasks + POOL_THREADS);
  churn_detached_late(tasks + POOL_THREADS);
  WaitForTasks(tasks + POOL_THREADS);
  checkpoint("after");
  return 0;
}

static void* BlockUntilExit(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

NOINLINE static void spawn_before_fork(void) {
  for (int i = 0; i < 3; ++i) {
    pthread_t t;
    Check(pthread_create(&t, NULL, BlockUntilExit, NULL), "before fork");
  }
}

NOINLINE static void child_spawn(void) {
  pthread_t t;
  Check(pthread_create(&t, NULL, BlockUntilExit, NULL), "child");
}

static void* Forker(void* arg) {
  (void)arg;
  const pid_t child = fork();
  if (child < 0) exit(9);
  if (child == 0) {
    child_spawn();
    exit(0); /* the child's exit dump */
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) exit(10);
  printf("parent %d child %d\n", (int)getpid(), (int)child);
  fflush(stdout);
  return NULL;
}

NOINLINE static void spawn_forker(void) {
  pthread_t t;
  Check(pthread_create(&t, NULL, Forker, NULL), "forker");
  Check(pthread_join(t, NULL), "join forker");
}

NOINLINE static void leak_steadily(void) {
  for (int i = 0; i < TREND_STEP; ++i) {
    pthread_t t;
    Check(pthread_create(&t, NULL, BlockForever, NULL), "steady");
  }
}

static int Trend(void) {
  sem_init(&g_never, 0, 0);
  for (int k = 0; k < TREND_SNAPSHOTS; ++k) {
    checkpoint("snap");
    leak_steadily();
    churn_joined();
    usleep(50 * 1000);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "trend") == 0) return Trend();
  if (argc > 1 && strcmp(argv[1], "fork") == 0) {
    spawn_before_fork();
    spawn_forker();
    return 0;
  }
  return Pool();
}
