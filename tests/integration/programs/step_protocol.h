/* The handshake between an integration test and the program it drives:
   the program prints "<name>\n" when it reaches a checkpoint, then blocks
   until the test writes a line back (after taking a snapshot). */
#ifndef LEAKTRACE_TESTS_STEP_PROTOCOL_H
#define LEAKTRACE_TESTS_STEP_PROTOCOL_H

#include <stdio.h>
#include <stdlib.h>

static inline void checkpoint(const char* name) {
  char line[64];
  printf("%s\n", name);
  fflush(stdout);
  if (fgets(line, sizeof line, stdin) == NULL) exit(3);
}

#endif
