/* Usage: dlopen_churn PLUGIN ROUNDS. Opens, uses and closes PLUGIN ROUNDS
   times (plugin_leak(1) each time: one block outlives every round) while a
   second thread allocates; exits 0 when every round worked. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile int stop;

static void* churn(void* arg) {
  (void)arg;
  while (!stop) free(malloc(48));
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const int rounds = atoi(argv[2]);
  pthread_t thread;
  pthread_create(&thread, NULL, churn, NULL);
  int ok = 0;
  for (int i = 0; i < rounds; ++i) {
    void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) break;
    int (*plugin_leak)(int) = (int (*)(int))dlsym(h, "plugin_leak");
    if (plugin_leak != NULL && plugin_leak(1) == 1) ++ok;
    dlclose(h);
  }
  stop = 1;
  pthread_join(thread, NULL);
  printf("rounds ok %d\n", ok);
  return ok == rounds ? 0 : 1;
}
