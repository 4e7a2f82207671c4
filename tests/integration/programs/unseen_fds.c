/* Descriptors no hook sees made (fd_mmap_test.cc): made by raw system calls,
   as io_uring's accept and openat, the C library's internal ones and a
   runtime's own system calls are. Checkpoint "before"; 6 eventfds and 6
   sockets by syscall(2), kept; checkpoint "after"; all 12 closed again by
   syscall(SYS_close); checkpoint "closed"; exit 0. Exit 2 when a call
   fails. */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "step_protocol.h"

enum { kEach = 6 };

int main(void) {
  int fds[2 * kEach];
  checkpoint("before");
  for (int i = 0; i < kEach; ++i) {
    fds[i] = (int)syscall(SYS_eventfd2, 0, 0);
    fds[kEach + i] = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    if (fds[i] < 0 || fds[kEach + i] < 0) return 2;
  }
  checkpoint("after");
  for (int i = 0; i < 2 * kEach; ++i)
    if (syscall(SYS_close, fds[i]) != 0) return 2;
  checkpoint("closed");
  return 0;
}
