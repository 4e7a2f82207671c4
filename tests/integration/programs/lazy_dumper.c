/* When leaktrace's dumper thread starts (dumper_start_test.cc).
     lazy_dumper WAIT
   allocates a little and opens a file, prints "threads N" (its thread
   count, from /proc/self/status), makes the wait WAIT with a short
   timeout, and prints "threads N" again. WAIT: none, nanosleep,
   clock_nanosleep, clock_nanosleep_abs (TIMER_ABSTIME), usleep, sleep, poll, ppoll, select, pselect, epoll_wait,
   epoll_pwait, sem_timedwait, pause, sigsuspend (the last two woken by a
   timer's SIGALRM), semop, semtimedop, msgrcv, msgsnd (System V IPC),
   recvmmsg (with a timeout), setsockopt (a receive timeout, no call made
   with it), nowait (each of the last five made so that it cannot wait: no
   thread is due), or late: runs its own code for 150 ms, then opens a
   file; or threadedlate: the same after a thread of its own has come and
   gone; threaded:WAIT, WAIT after such a thread. Exit 1 on a failed call.
     lazy_dumper rawsleep | bigwrite
   print "ready", then sleep 2 s in one raw nanosleep system call (exit 1
   if cut short), or write 1 MiB of 'x' to stdout in one write (exit 1 if
   it wrote less): calls a snapshot signal would cut short, in a process
   with no dumper thread.
     lazy_dumper pipewrites
   print "ready", then for 3 s alternate 100 us of its own work and a
   blocking write of 256 KiB to a pipe a child drains: a thread that is
   "running" in /proc while inside a write about half of the time. Exit 1
   when a write was cut short (a part written, or EINTR).
     lazy_dumper starvedwrites
   the same, but starved of CPU: pinned to one CPU with a child spinning
   there, itself at SCHED_IDLE. Woken in a write, it waits for the CPU
   for long stretches, "running" in /proc all the while.
     lazy_dumper longwaits
   print "ready", wait 2.5 s in epoll_wait (nothing to wait for), print
   "waited", sleep 2.5 s in nanosleep, print "slept". Exit 1 when either
   was cut short.
     lazy_dumper rawsleeps
   print "ready", then for 3 s open and close /dev/null (a tracked event)
   and sleep 50 ms in a raw nanosleep system call, in turn: a process of
   one thread that waits where no hook sees it. Exit 1 when a sleep was
   cut short.
     lazy_dumper compute | blocked
   print "ready", then 2.2 s of its own work: no allocation, no wait;
   "blocked" with every signal blocked first.
     lazy_dumper busy
   print "ready", then for 2 s allocate and free blocks of up to 200 KB
   (tracked events, no wait), then print "threads N".
     lazy_dumper rcvtimeo | semwait
   print "ready", then wait 2 s in a recv on a socket with a 2 s receive
   timeout, or in a semtimedop with a 2 s timeout: waits the kernel never
   restarts after a signal handler. Exit 0 when the wait timed out, 1 when
   it was cut short. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
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

static void* nothing(void* arg) { return arg; }

static int wait_in(const char* wait) {
  const struct timespec ms = {0, 1000 * 1000};
  if (strcmp(wait, "none") == 0) return 0;
  if (strcmp(wait, "nanosleep") == 0) return nanosleep(&ms, NULL);
  if (strcmp(wait, "clock_nanosleep") == 0) return clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
  if (strcmp(wait, "clock_nanosleep_abs") == 0) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 1000 * 1000;
    if (until.tv_nsec >= 1000 * 1000 * 1000) until.tv_sec += 1, until.tv_nsec -= 1000 * 1000 * 1000;
    return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
  }
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
  if (strcmp(wait, "semop") == 0 || strcmp(wait, "semtimedop") == 0) {
    const int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (id < 0) return -1;
    int rc;
    if (strcmp(wait, "semop") == 0) {
      struct sembuf up = {0, 1, 0}, down = {0, -1, 0};
      rc = semop(id, &up, 1) == 0 && semop(id, &down, 1) == 0 ? 0 : -1;
    } else {
      struct sembuf down = {0, -1, 0};
      rc = semtimedop(id, &down, 1, &ms) == -1 && errno == EAGAIN ? 0 : -1;
    }
    semctl(id, 0, IPC_RMID);
    return rc;
  }
  if (strcmp(wait, "msgrcv") == 0 || strcmp(wait, "msgsnd") == 0) {
    const int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0) return -1;
    struct {
      long type;
      char text[8];
    } message = {1, "x"};
    int rc;
    if (strcmp(wait, "msgrcv") == 0)
      rc = msgsnd(id, &message, sizeof message.text, IPC_NOWAIT) == 0 &&
                   msgrcv(id, &message, sizeof message.text, 0, 0) == (ssize_t)sizeof message.text
               ? 0
               : -1;
    else
      rc = msgsnd(id, &message, sizeof message.text, 0);
    msgctl(id, IPC_RMID, NULL);
    return rc;
  }
  if (strcmp(wait, "recvmmsg") == 0) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    struct mmsghdr message;
    memset(&message, 0, sizeof message);
    message.msg_hdr.msg_iov = &iov;
    message.msg_hdr.msg_iovlen = 1;
    struct timespec timeout = ms;
    const int rc = send(sv[0], "y", 1, 0) == 1 && recvmmsg(sv[1], &message, 1, 0, &timeout) == 1 ? 0 : -1;
    close(sv[0]);
    close(sv[1]);
    return rc;
  }
  if (strcmp(wait, "setsockopt") == 0) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const struct timeval timeout = {1, 0};
    const int rc = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    close(fd);
    return rc;
  }
  if (strcmp(wait, "nowait") == 0) {
    /* The same calls, none of which can wait. */
    const int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    const int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    int sv[2];
    if (sem < 0 || queue < 0 || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    struct sembuf down = {0, -1, IPC_NOWAIT};
    int ok = semop(sem, &down, 1) == -1 && errno == EAGAIN;
    struct {
      long type;
      char text[8];
    } message = {1, "x"};
    ok = ok && msgsnd(queue, &message, sizeof message.text, IPC_NOWAIT) == 0;
    ok = ok && msgrcv(queue, &message, sizeof message.text, 0, IPC_NOWAIT) == (ssize_t)sizeof message.text;
    const struct timeval none = {0, 0};
    const int one = 1;
    ok = ok && setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none) == 0;
    ok = ok && setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof one) == 0;
    char byte;
    struct iovec iov = {&byte, 1};
    struct mmsghdr received;
    memset(&received, 0, sizeof received);
    received.msg_hdr.msg_iov = &iov;
    received.msg_hdr.msg_iovlen = 1;
    ok = ok && recvmmsg(sv[1], &received, 1, MSG_DONTWAIT, NULL) == -1 && errno == EAGAIN;
    /* A semaphore that can be taken at once (CPython's start-up takes one),
       a poll and a select that do not wait. */
    sem_t ready;
    ok = ok && sem_init(&ready, 0, 1) == 0 && sem_wait(&ready) == 0;
    ok = ok && poll(NULL, 0, 0) == 0;
    struct timeval zero = {0, 0};
    ok = ok && select(0, NULL, NULL, NULL, &zero) == 0;
    semctl(sem, 0, IPC_RMID);
    msgctl(queue, IPC_RMID, NULL);
    close(sv[0]);
    close(sv[1]);
    return ok ? 0 : -1;
  }
  if (strncmp(wait, "threaded:", 9) == 0) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, nothing, NULL) != 0 || pthread_join(thread, NULL) != 0) return -1;
    return wait_in(wait + 9);
  }
  if (strcmp(wait, "threadedlate") == 0) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, nothing, NULL) != 0 || pthread_join(thread, NULL) != 0) return -1;
    return wait_in("late");
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

static void pin_to_cpu0(void) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) exit(1);
}

// A child spinning on CPU 0 for the writer's 3 s, ended by the writer.
static pid_t start_hog(void) {
  const pid_t hog = fork();
  if (hog < 0) exit(1);
  if (hog == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pin_to_cpu0();
    const double until = now() + 5.0;
    while (now() < until) {
    }
    _exit(0);
  }
  return hog;
}

static int pipe_writes(int starved) {
  static char data[256 * 1024];
  int fds[2];
  if (pipe(fds) != 0) return 1;
  const pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    close(fds[1]);
    static char drained[64 * 1024];
    while (read(fds[0], drained, sizeof drained) > 0) {
      const double until = now() + 0.0002;
      while (now() < until) {
      }
    }
    _exit(0);
  }
  close(fds[0]);
  pid_t hog = 0;
  if (starved) {  // the drain child, forked before, runs free
    pin_to_cpu0();
    hog = start_hog();
    const struct sched_param none = {0};
    if (sched_setscheduler(0, SCHED_IDLE, &none) != 0) return 1;
  }
  printf("ready\n");
  fflush(stdout);
  long cut = 0;
  const double end = now() + 3.0;
  while (now() < end) {
    const double until = now() + 0.0001;
    while (now() < until) {
    }
    const ssize_t written = write(fds[1], data, sizeof data);
    if (written != (ssize_t)sizeof data) ++cut;
  }
  close(fds[1]);
  waitpid(child, NULL, 0);
  if (hog > 0) {
    kill(hog, SIGKILL);
    waitpid(hog, NULL, 0);
  }
  printf("cut short %ld\n", cut);
  return cut == 0 ? 0 : 1;
}

static int cut_short_calls(const char* how) {
  if (strcmp(how, "blocked") == 0) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
  }
  printf("ready\n");
  fflush(stdout);
  if (strcmp(how, "longwaits") == 0) {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e;
    if (ep < 0 || epoll_wait(ep, &e, 1, 2500) != 0) return 1;
    printf("waited\n");
    fflush(stdout);
    const struct timespec two_and_a_half = {2, 500 * 1000 * 1000};
    if (nanosleep(&two_and_a_half, NULL) != 0) return 1;
    printf("slept\n");
    return 0;
  }
  if (strcmp(how, "rawsleeps") == 0) {
    const double until = now() + 3.0;
    while (now() < until) {
      const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) return 1;
      close(fd);
      const struct timespec fifty_ms = {0, 50 * 1000 * 1000};
      if (syscall(SYS_nanosleep, &fifty_ms, NULL) != 0) return 1;
    }
    return 0;
  }
  if (strcmp(how, "compute") == 0 || strcmp(how, "blocked") == 0) {
    const double until = now() + 2.2;
    while (now() < until) {
    }
    return 0;
  }
  if (strcmp(how, "busy") == 0) {
    unsigned long long x = 88172645463325252ULL;
    const double until = now() + 2.0;
    while (now() < until) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      char* p = malloc(1 + x % 200000);
      if (p == NULL) return 1;
      p[0] = 1;
      sink = p;
      free(p);
    }
    printf("threads %d\n", threads());
    return 0;
  }
  if (strcmp(how, "rawsleep") == 0) {
    const struct timespec two_seconds = {2, 0};
    return syscall(SYS_nanosleep, &two_seconds, NULL) == 0 ? 0 : 1;
  }
  if (strcmp(how, "rcvtimeo") == 0) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const struct timeval two_seconds = {2, 0};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds) != 0) return 1;
    struct sockaddr_in any;
    memset(&any, 0, sizeof any);
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr*)&any, sizeof any) != 0) return 1;
    char byte;
    const ssize_t n = recv(fd, &byte, 1, 0);
    return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : 1;
  }
  if (strcmp(how, "semwait") == 0) {
    const int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (id < 0) return 1;
    struct sembuf down = {0, -1, 0};
    const struct timespec two_seconds = {2, 0};
    const int timed_out = semtimedop(id, &down, 1, &two_seconds) == -1 && errno == EAGAIN;
    semctl(id, 0, IPC_RMID);
    return timed_out ? 0 : 1;
  }
  enum { kBytes = 1 << 20 };
  char* data = malloc(kBytes);
  if (data == NULL) return 1;
  memset(data, 'x', kBytes);
  return write(1, data, kBytes) == kBytes ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  if (strcmp(argv[1], "pipewrites") == 0) return pipe_writes(0);
  if (strcmp(argv[1], "starvedwrites") == 0) return pipe_writes(1);
  if (strcmp(argv[1], "rawsleep") == 0 || strcmp(argv[1], "bigwrite") == 0 || strcmp(argv[1], "rcvtimeo") == 0 ||
      strcmp(argv[1], "semwait") == 0 || strcmp(argv[1], "rawsleeps") == 0 || strcmp(argv[1], "busy") == 0 ||
      strcmp(argv[1], "longwaits") == 0 || strcmp(argv[1], "compute") == 0 || strcmp(argv[1], "blocked") == 0)
    return cut_short_calls(argv[1]);
  for (int i = 0; i < 100; ++i) sink = malloc(1000 + i);
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  close(fd);
  printf("threads %d\n", threads());
  if (wait_in(argv[1]) != 0) return 1;
  printf("threads %d\n", threads());
  return 0;
}
