/* A program with its own SIGUSR2 handler: it must keep its behaviour under
   leaktrace. Prints "handled N" after raising the signal N times. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t handled;

static void on_usr2(int sig) {
  (void)sig;
  ++handled;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr2;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR2, &sa, NULL) != 0) return 1;
  signal(SIGUSR2, on_usr2); /* again, through signal(): one message only */
  for (int i = 0; i < 3; ++i) raise(SIGUSR2);
  printf("handled %d\n", (int)handled);
  return handled == 3 ? 0 : 1;
}
