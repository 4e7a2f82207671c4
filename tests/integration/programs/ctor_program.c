#include <stdio.h>
#include <stdlib.h>

const char* ctor_thread_result(void);

int main(void) {
  const char* r = ctor_thread_result();
  printf("%s\n", r);
  free((void*)r);
  return 0;
}
