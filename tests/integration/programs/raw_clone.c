/* Children no fork handler runs in (lifecycle_test.cc). Exit 2 when a call
   fails.
     raw_clone      a child made by the clone system call itself, not fork
                    (bwrap's child in a new pid namespace, a runtime's own
                    process start): it leaks 16 MiB from leak_in_clone_child
                    and exits; the parent waits for it, prints "child PID
                    parent PID" and exits. 16 MiB, because at the default
                    512 KiB sampling a block of S bytes goes unsampled
                    with chance e^(-S/512 KiB): 3 MiB missed once in
                    about 400 runs (e^-6), 16 MiB misses with e^-32.
     raw_clone running [waited]
                    the same child, which then stops at checkpoint
                    "child" (its parent waiting for it) and exits when let
                    go; with "waited", the parent first waits 10 ms in
                    sem_timedwait (a wait leaktrace does not make in
                    slices), so its dumper thread has started before the
                    clone.
     raw_clone vm   checkpoint "before"; then a child that shares the
                    parent's memory (clone with CLONE_VM) and ends by exit(),
                    not _exit, running the exit handlers on that memory;
                    the parent waits for it, then checkpoint "after". */
#define _GNU_SOURCE
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "step_protocol.h"

void* volatile keep;

__attribute__((noinline)) void leak_in_clone_child(void) {
  keep = malloc(16 << 20);
  if (keep) memset(keep, 1, 16 << 20);
}

static int vm_child(void* arg) {
  (void)arg;
  exit(0);
}

static int shared_memory_child(void) {
  checkpoint("before");
  const size_t size = 256 * 1024;
  char* stack = malloc(size);
  if (!stack) return 2;
  const int child = clone(vm_child, stack + size, CLONE_VM | SIGCHLD, NULL);
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 2;
  free(stack);
  keep = malloc(1000);
  checkpoint("after");
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "vm") == 0) return shared_memory_child();
  const int running = argc > 1 && strcmp(argv[1], "running") == 0;
  for (int i = 0; i < 50; ++i) {
    keep = malloc(200000);
    free(keep);
  }
  if (running && argc > 2 && strcmp(argv[2], "waited") == 0) {
    sem_t never;
    struct timespec until;
    sem_init(&never, 0, 0);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 10 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) until.tv_sec += 1, until.tv_nsec -= 1000000000;
    sem_timedwait(&never, &until);
  }
  const long child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (child < 0) return 2;
  if (child == 0) {
    leak_in_clone_child();
    if (running) checkpoint("child");
    exit(0);
  }
  int status = 0;
  if (waitpid((pid_t)child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 2;
  printf("child %ld parent %d\n", child, getpid());
  return 0;
}
