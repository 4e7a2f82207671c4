/* One thread, waiting on a condition variable with a timeout (a futex wait,
   as Python's Event().wait(5) does) for 5 s, then exiting 0. A thread in a
   futex wait may hold a lock the loader needs: `leaktrace attach` must not
   borrow it, not even once the kernel restarts the wait after the attach's
   own interrupt (restart_syscall). Prints "waiting" first. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  printf("waiting\n");
  fflush(stdout);
  pthread_mutex_lock(&m);
  while (pthread_cond_timedwait(&c, &m, &until) == 0) {
  }
  pthread_mutex_unlock(&m);
  return 0;
}
