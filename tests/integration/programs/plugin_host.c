/* plugin_test.cc's program: between checkpoints "before" and "after" it
   dlopen's the plugin named by argv[1], has it leak argv[2] blocks, and
   dlclose's it again, so the plugin is gone by the time of the second
   snapshot (checked with RTLD_NOLOAD; exit 4 if it is still loaded).

   With argv[2] "storm": one thread opens, uses and closes the plugin over
   and over (each dlclose goes through leaktrace's module map and its lock)
   while another forks, and the test takes snapshots meanwhile (checkpoint
   "storm"). The children only _exit: after fork in a multi-threaded
   process only async-signal-safe calls are allowed, and glibc does not
   reset its loader list lock in the child, so a child's dlopen could hang
   on a copy taken by the parent's other thread, with or without leaktrace.
   Once the threads stopped, a child that exits normally (writing its own
   exit dump through the module map) must finish too (checkpoint "done").
   A deadlock ends in SIGALRM. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "step_protocol.h"

static const char* plugin_path;
static atomic_int stop;

static int use_plugin_once(void) {
  void* plugin = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
  if (plugin == NULL) return 0;
  int (*leak)(int) = (int (*)(int))dlsym(plugin, "plugin_leak");
  int made = leak ? leak(1) : 0;
  dlclose(plugin);
  return made;
}

static void* open_close_loop(void* arg) {
  (void)arg;
  while (!atomic_load(&stop)) use_plugin_once();
  return NULL;
}

static int fork_and_wait(int normal_exit) {
  pid_t child = fork();
  if (child == 0) {
    if (normal_exit) exit(use_plugin_once() == 1 ? 0 : 5);
    _exit(0);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void* fork_loop(void* arg) {
  (void)arg;
  while (!atomic_load(&stop))
    if (!fork_and_wait(0)) exit(6);
  return NULL;
}

static int storm(void) {
  alarm(120);
  pthread_t a, b;
  pthread_create(&a, NULL, open_close_loop, NULL);
  pthread_create(&b, NULL, fork_loop, NULL);
  checkpoint("storm");
  atomic_store(&stop, 1);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  if (!fork_and_wait(1)) return 7;
  checkpoint("done");
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  plugin_path = argv[1];
  if (strcmp(argv[2], "storm") == 0) return storm();
  checkpoint("before");
  void* plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (plugin == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 3;
  }
  int (*leak)(int) = (int (*)(int))dlsym(plugin, "plugin_leak");
  if (leak == NULL || leak(atoi(argv[2])) != atoi(argv[2])) return 3;
  if (dlclose(plugin) != 0) return 3;
  if (dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) != NULL) return 4; /* still loaded */
  checkpoint("after");
  return 0;
}
